#!/usr/bin/env bash
# Installs every Debian 12 package that wattline's build, tests, fuzzers and benchmarks need.
# A no-op (no apt-get call at all) when everything is already installed; safe to run often.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  clang libclang-rt-14-dev
  libssl-dev libsecp256k1-dev libleveldb-dev libsnappy-dev
  libboost-system-dev libboost-program-options-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcairo2-dev libeigen3-dev
  python3-yaml
)
# Node.js + npm run the independent gRPC client test (tests/integration/grpc_client_test.js);
# only asked for when no `node` is on the PATH (any recent Node.js will do).
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q "${missing[@]}"
