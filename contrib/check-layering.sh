#!/usr/bin/env bash
# Checks the include arrows of docs/architecture.md and the integer-only rule:
#   crypto     includes no other wattline folder
#   consensus  includes only crypto/ and consensus/
#   ledger     includes only crypto/, consensus/ and ledger/
#   net        includes only crypto/, consensus/, ledger/, net/ and its generated proto header
#   channels   includes only crypto/, consensus/, ledger/, net/ and channels/
#   consensus/ and ledger/ use no floating point (float, double, long double)
# The CMake link graph is checked at configure time (cmake/Layering.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
check_includes() {
  local dir=$1 allowed=$2 files=${3:-}
  while IFS= read -r line; do
    local file=${line%%:*} inc
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    local top=${inc%%/*}
    if [[ " $files " == *" $inc "* ]]; then continue; fi
    if [[ " $allowed " != *" $top "* ]]; then
      echo "layering: $file includes \"$inc\" ($dir/ may include only: $allowed${files:+ $files})"
      status=1
    fi
  done < <(grep -rn --include='*.h' --include='*.cpp' -E '^\s*#\s*include\s+"' "$dir" || true)
}
check_includes crypto "crypto"
check_includes consensus "crypto consensus"
check_includes ledger "crypto consensus ledger"
check_includes net "crypto consensus ledger net" "wattline/p2p/v1/p2p.pb.h"
check_includes channels "crypto consensus ledger net channels"
# Comments are stripped first ("a double spend" is not a double).
if find consensus ledger -name '*.h' -o -name '*.cpp' | xargs awk '{ line = $0; sub(/\/\/.*/, "", line);
      if (line ~ /(^|[^A-Za-z0-9_])(float|double)([^A-Za-z0-9_]|$)/) { print FILENAME ":" FNR ": " $0; found = 1 } }
      END { exit found ? 0 : 1 }'; then
  echo "layering: floating point in consensus/ or ledger/ (consensus arithmetic is integer-only)"
  status=1
fi
if [ $status -eq 0 ]; then echo "layering: ok"; fi
exit $status
