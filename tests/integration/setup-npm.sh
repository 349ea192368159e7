#!/usr/bin/env bash
# Installs the npm packages of the independent gRPC client test (grpc_client_test.js) into
# PREFIX (build/<preset>/npm), pinned to the versions verified against this server
# (/work/shared/TOOLCHAIN.md). Idempotent: does nothing when both are already installed at
# those versions. Exits non-zero when node/npm are missing or the install fails: the test
# must fail then, not be skipped.
#   tests/integration/setup-npm.sh build/release/npm
set -euo pipefail

PREFIX="${1:?usage: setup-npm.sh <prefix>}"
PINNED=("@grpc/grpc-js@1.14.7" "grpc-reflection-js@0.3.0")
mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-npm: '$tool' not found (contrib/install-deps.sh installs Debian's nodejs and npm)" >&2
    exit 1
  fi
done

installed_version() {  # name -> version of PREFIX/node_modules/<name>, or empty
  local pkg="$PREFIX/node_modules/$1/package.json"
  [ -f "$pkg" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$pkg" 2>/dev/null || true
}

missing=()
for spec in "${PINNED[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  if [ "$(installed_version "$name")" != "$want" ]; then missing+=("$spec"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup-npm: installing ${missing[*]} into $PREFIX" >&2
# Bounded: a registry that does not answer fails the test instead of hanging it.
timeout 240 npm install --prefix "$PREFIX" --no-audit --no-fund --save-exact "${PINNED[@]}" >&2
for spec in "${PINNED[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  got="$(installed_version "$name")"
  if [ "$got" != "$want" ]; then
    echo "setup-npm: $name is '${got:-missing}' after npm install, want $want" >&2
    exit 1
  fi
done
