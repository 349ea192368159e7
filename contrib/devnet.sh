#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and starts a single-node devnet in the
# background (mining on, utility role on, a funded node wallet), then prints where its gRPC
# API listens and a wattline-cli line to try. Idempotent: a second run rebuilds nothing that
# is up to date and reuses the running node.
#   contrib/devnet.sh          start (or show) the devnet node
#   contrib/devnet.sh stop     stop it (SIGTERM: the chainstate is flushed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
datadir=${WATTLINE_DEVNET_DATADIR:-$HOME/.wattline/devnet}
cli="$root/build/release/cli/wattline-cli"
daemon="$root/build/release/node/wattlined"

running_pid() {
  local pid
  pid=$(head -n1 "$datadir/.lock" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q wattlined "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  fi
}

if [ "${1:-}" = "stop" ]; then
  pid=$(running_pid)
  if [ -z "$pid" ]; then echo "devnet: not running"; exit 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "devnet: stopped (pid $pid)"
  exit 0
fi

contrib/install-deps.sh
[ -f build/release/build.ninja ] || cmake --preset release >/dev/null
cmake --build --preset release --target wattlined wattline-cli | tail -n 1

pid=$(running_pid)
if [ -z "$pid" ]; then
  mkdir -p "$datadir"
  rm -f "$datadir/rpc.endpoint"
  nohup "$daemon" --network devnet --datadir "$datadir" --mine 1 --minethreads 1 --utility 1 \
    --printtoconsole 0 >"$datadir/wattlined.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    [ -s "$datadir/rpc.endpoint" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "devnet: wattlined exited:"; cat "$datadir/wattlined.out"; exit 1
    fi
    sleep 0.1
  done
fi
endpoint=$(cat "$datadir/rpc.endpoint")
datadir_flag=""
[ "$datadir" = "$HOME/.wattline/devnet" ] || datadir_flag=" --datadir $datadir"
cat <<MSG
devnet: wattlined is running (pid $pid), datadir $datadir
  gRPC API (TLS): $endpoint   certificate $datadir/tls/cert.pem
  credentials:    $datadir/credentials/{admin,wallet,meter,utility}.token
  log:            $datadir/debug.log
Try:
  $cli --network devnet$datadir_flag getinfo
Stop with: contrib/devnet.sh stop
MSG
