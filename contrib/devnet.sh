#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and starts a single-node devnet in the
# background (mining on, utility role on, a funded node wallet) and the meter simulator
# against it (contrib/meters/README.md), then prints where its gRPC API listens and
# wattline-cli lines to try. Idempotent: a second run rebuilds nothing that is up to date and
# reuses the running node and simulator.
#   contrib/devnet.sh          start (or show) the devnet node and its simulated meters
#   contrib/devnet.sh stop     stop both (SIGTERM: the simulator ends after its current call,
#                              the node flushes its chainstate)
# Environment: WATTLINE_DEVNET_DATADIR (default ~/.wattline/devnet); WATTLINE_DEVNET_METERS
# (meters to simulate, default 10; 0: no simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
datadir=${WATTLINE_DEVNET_DATADIR:-$HOME/.wattline/devnet}
cli="$root/build/release/cli/wattline-cli"
daemon="$root/build/release/node/wattlined"
meters_bin="$root/build/release/contrib/meters/wattline-meters"
n_meters=${WATTLINE_DEVNET_METERS:-10}
case "$n_meters" in ''|*[!0-9]*) echo "devnet: WATTLINE_DEVNET_METERS must be a number (0: no meters)" >&2; exit 2 ;; esac

running_pid() {
  local pid
  pid=$(head -n1 "$datadir/.lock" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q wattlined "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  fi
}

# The simulator's pid if $datadir/meters.pid names a live wattline-meters of this datadir.
meters_pid() {
  local pid arg cmdline=()
  pid=$(head -n1 "$datadir/meters.pid" 2>/dev/null || true)
  case "$pid" in ''|*[!0-9]*) return 0 ;; esac
  kill -0 "$pid" 2>/dev/null || return 0
  mapfile -d "" -t cmdline 2>/dev/null <"/proc/$pid/cmdline" || return 0
  [ ${#cmdline[@]} -gt 0 ] && [[ "${cmdline[0]}" == *wattline-meters ]] || return 0
  for arg in "${cmdline[@]}"; do
    if [ "$arg" = "$datadir" ]; then echo "$pid"; return 0; fi
  done
}

stop_meters() {
  local pid
  pid=$(meters_pid)
  rm -f "$datadir/meters.pid"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "devnet: meters stopped (pid $pid)"
}

if [ "${1:-}" = "stop" ]; then
  stop_meters
  pid=$(running_pid)
  if [ -z "$pid" ]; then echo "devnet: not running"; exit 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "devnet: stopped (pid $pid)"
  exit 0
fi

contrib/install-deps.sh
[ -f build/release/build.ninja ] || cmake --preset release >/dev/null
cmake --build --preset release --target wattlined wattline-cli wattline-meters | tail -n 1

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

# The meters: registered by this node (its utility role; the fees are paid once its first
# coinbases mature, about a minute into a fresh devnet, and the registrations count once it
# mines them), then a day of readings caught up as fast as the node takes them, then one
# reading per meter every 15 minutes. A restart resumes from the chain.
meters_line="meters:         off (WATTLINE_DEVNET_METERS=0)"
if [ "$n_meters" -gt 0 ]; then
  mpid=$(meters_pid)
  if [ -z "$mpid" ]; then
    nohup "$meters_bin" --network devnet --datadir "$datadir" --meters "$n_meters" \
      >>"$datadir/meters.out" 2>&1 </dev/null &
    mpid=$!
    echo "$mpid" >"$datadir/meters.pid"
    sleep 0.5
    if ! kill -0 "$mpid" 2>/dev/null; then
      echo "devnet: wattline-meters exited:"; tail -n 5 "$datadir/meters.out"; rm -f "$datadir/meters.pid"; exit 1
    fi
  fi
  meters_line="meters:         $n_meters simulated (pid $mpid), log $datadir/meters.out"
  owner=$("$meters_bin" --meters 1 --list | cut -d' ' -f4)
fi
cat <<MSG
devnet: wattlined is running (pid $pid), datadir $datadir
  gRPC API (TLS): $endpoint   certificate $datadir/tls/cert.pem
  credentials:    $datadir/credentials/{admin,wallet,meter,utility}.token
  log:            $datadir/debug.log
  $meters_line
Try:
  $cli --network devnet$datadir_flag getinfo
MSG
if [ "$n_meters" -gt 0 ]; then
  cat <<MSG
  $cli --network devnet$datadir_flag listmeters
  $cli --network devnet$datadir_flag getschedule
  $cli --network devnet$datadir_flag getrewards $owner    # meter 0's owner
MSG
fi
echo "Stop with: contrib/devnet.sh stop"

