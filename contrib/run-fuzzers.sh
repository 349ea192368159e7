#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and runs each one for a bounded time
# over a copy of its seed corpus in tests/fuzz/corpus/<target>/ (the committed corpus is never
# modified). Exits non-zero if any target finds a crash, a sanitizer report, a leak, a timeout
# or an out-of-memory; the inputs that did it are kept in build/fuzz/findings/<target>/.
#
#   contrib/run-fuzzers.sh [seconds per target, default 20] [target ...]
#
# Without clang (or its libFuzzer runtime, libclang-rt-14-dev) it says so and exits 0.
# The last line is "N passed, M failed" for CI to read.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift $(( $# > 0 ? 1 : 0 ))
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds per target] [target ...]" >&2
  exit 2
fi

if ! command -v clang >/dev/null 2>&1 || ! command -v clang++ >/dev/null 2>&1; then
  echo "run-fuzzers: skipped: clang is not installed (the fuzz targets need clang and libclang-rt-14-dev)"
  exit 0
fi
if ! ls "$(clang++ -print-resource-dir)"/lib/*/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  echo "run-fuzzers: skipped: clang's libFuzzer runtime is missing (install libclang-rt-14-dev)"
  exit 0
fi

build_dir=build/fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target fuzz_all --parallel "${FUZZ_BUILD_JOBS:-$(nproc)}"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < "$build_dir/tests/fuzz/targets.txt"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/wattline-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
for t in "${targets[@]}"; do
  [ -n "$t" ] || continue
  bin="$build_dir/tests/fuzz/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "fuzz $t: FAILED (no binary $bin or no corpus $seeds)"
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp -R "$seeds"/. "$work/$t/corpus/"
  log="$work/$t/log"
  set +e
  "$bin" "$work/$t/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/$t/artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  cov="$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ok, ${runs:-?} runs in ${seconds} s (${rate:-?} exec/s, cov ${cov:-?})"
    passed=$((passed + 1))
  else
    keep="$build_dir/findings/$t"
    mkdir -p "$keep"
    cp -R "$work/$t/artifacts"/. "$keep/" 2>/dev/null || true
    cp "$log" "$keep/log"
    echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs; inputs and log in $keep/"
    grep -E 'ERROR:|FUZZ_CHECK|runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
