#!/usr/bin/env bash
# ctest entry of grpc_client_test.js: installs the pinned npm packages (setup-npm.sh; a failed
# install fails the test), then runs the client against a fresh wattlined.
#   run-grpc-client-test.sh <npm prefix> <wattlined binary>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${1:?usage: run-grpc-client-test.sh <npm prefix> <wattlined>}"
WATTLINED="${2:?usage: run-grpc-client-test.sh <npm prefix> <wattlined>}"
"$HERE/setup-npm.sh" "$PREFIX"
NODE_PATH="$PREFIX/node_modules" exec node "$HERE/grpc_client_test.js" "$WATTLINED"
