#!/usr/bin/env bash
# Reproduces the demand-response experiment of the paper (docs/demand-response.md):
# i = 100 and i = 60 prosumers, each with the five appliances of its table (624 kWh in slots
# 6-12, 357 in 7-12, 591 in 7-18, 209 in 12-20, 970 in 8-12; 0-based slots, inclusive),
# a = b = c = 1, 24 slots, both unrandomised (the table as is) and randomised per prosumer
# with the rule of meter/scenario_io.h (GeneratePaperScenario) and seed 2021.
#
# Usage: contrib/dr-paper-runs.sh            (builds wattline-dr if needed)
# Env:   BUILD=build/release  OUT=$BUILD/dr-paper  SEED=2021  FIGURES=docs/figures
# Writes every run's outputs under $OUT/paper-<i>-<variant>/ (load.csv, bills.csv,
# summary.json, scenario.json, figures), copies the figures to $FIGURES/dr-paper-*, and
# prints the Markdown table of docs/demand-response.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
OUT=${OUT:-$BUILD/dr-paper}
SEED=${SEED:-2021}
FIGURES=${FIGURES:-docs/figures}
DR=$BUILD/meter/tool/wattline-dr
if [ ! -x "$DR" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target wattline-dr
fi
mkdir -p "$OUT" "$FIGURES"

rows=()
for n in 100 60; do
  for variant in table randomised; do
    dir=$OUT/paper-$n-$variant
    args=(--generate paper --prosumers "$n" --seed "$SEED" --hourly-bill on --progress off
          --out "$dir" --write-scenario "$dir/scenario.json" --title "i = $n, $variant")
    label="i = $n, table as is"
    if [ "$variant" = table ]; then
      args+=(--no-randomise)
    else
      label="i = $n, randomised (seed $SEED)"
    fi
    echo "== $label" >&2
    report=$("$DR" "${args[@]}" --markdown-row "$label")
    echo "$report" | grep -v '^|' >&2
    rows+=("$(echo "$report" | grep '^|')")
    cp "$dir/demand.png" "$FIGURES/dr-paper-$n-$variant-demand.png"
    cp "$dir/demand.svg" "$FIGURES/dr-paper-$n-$variant-demand.svg"
    if [ "$variant" = randomised ]; then
      cp "$dir/bill_change.png" "$FIGURES/dr-paper-$n-$variant-bills.png"
      cp "$dir/bill_change.svg" "$FIGURES/dr-paper-$n-$variant-bills.svg"
    fi
  done
done

echo "| run | PAR before (even) | PAR before (earliest) | PAR after = smallest possible | cost before (even) | cost before (earliest) | cost after | PAR hourly-bill eq. | hourly-bill cost above optimum |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
