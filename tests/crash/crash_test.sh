#!/usr/bin/env bash
# Kills the crash driver with SIGKILL at random moments, N times, and checks after each kill
# that the reopened chainstate is consistent and holds every block reported as connected.
#   crash_test.sh <wattline-crash-driver> [kills=50] [seed]
set -euo pipefail
driver=$1
kills=${2:-50}
seed=${3:-$(date +%s)}
echo "crash test: $kills kills, seed $seed (rerun with: $0 $driver $kills $seed)"
RANDOM=$seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/chainstate
log=$work/connected.log
: >"$log"
for i in $(seq 1 "$kills"); do
  "$driver" run "$dir" $((seed + i)) >>"$log" 2>"$work/run.err" &
  pid=$!
  # 20-400 ms: long enough to land in every phase (store, connect, flush, reorg).
  sleep "0.$(printf '%03d' $((20 + RANDOM % 380)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if grep -q "rejected\|failed" "$work/run.err"; then
    echo "kill $i: driver error:"; cat "$work/run.err"; exit 1
  fi
  if ! out=$("$driver" check "$dir" "$log" 2>&1); then
    echo "kill $i: FAILED: $out"; exit 1
  fi
  echo "kill $i: $out"
done
echo "crash test passed: $kills kills"
