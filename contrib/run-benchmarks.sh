#!/usr/bin/env bash
# Runs every benchmark binary of the release build and prints their summary tables, with the
# machine and the date, in the form docs/benchmarks.md keeps. Best on an idle machine: the
# ratios are measured within one run, the absolute rates depend on what else runs.
#   contrib/run-benchmarks.sh [benchmark-binary-name ...]   (e.g. wattline-bench-p2p)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build --preset release >/dev/null
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  mapfile -t bins < <(find build/release/bench build/release/meter -maxdepth 2 -type f -perm -u+x -name '*bench*' -printf '%f\n' 2>/dev/null | sort)
fi
for b in "${bins[@]}"; do
  path=$(find build/release -type f -name "$b" -perm -u+x | head -n1)
  echo
  echo "## $b"
  # The summary table with ratios (printed after the per-benchmark lines). wattline-bench-p2p
  # (initial sync from a local peer, issue 5) takes its chain size from WATTLINE_BENCH_P2P_BLOCKS,
  # WATTLINE_BENCH_P2P_TXS and WATTLINE_BENCH_P2P_REPS when set (about 1-2 minutes as it is).
  "$path" --benchmark_color=false 2>/dev/null | sed -n '/^measure/,$p'
done
