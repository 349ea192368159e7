#!/usr/bin/env bash
# A local wattline testnet: the six nodes of contrib/testnet/topology.conf (a utility node, two
# miners, three prosumers) as processes on loopback, each with its own datadir, P2P port and
# gRPC port, wired with --addnode. docker/compose.yaml runs the same topology in containers.
# See docs/testnet.md.
#
#   contrib/testnet/testnet.sh start [--nodes a,b|N] [--root DIR] [--base-port P] [--network NET] [--meters N]
#   contrib/testnet/testnet.sh status [--root DIR]
#   contrib/testnet/testnet.sh stop [--root DIR]
#   contrib/testnet/testnet.sh cli NAME [wattline-cli arguments...]
#   contrib/testnet/testnet.sh help
#
# Environment: WATTLINE_TESTNET_ROOT (default $HOME/.wattline/testnet-local),
# WATTLINE_TESTNET_BASE_PORT (default: topology.conf's base_port), WATTLINE_TESTNET_NETWORK
# (default: topology.conf's network), WATTLINE_BUILD_DIR (default build/release),
# WATTLINE_TESTNET_START_TIMEOUT / WATTLINE_TESTNET_STOP_TIMEOUT (seconds per node, 60 / 60),
# WATTLINE_TESTNET_METERS (meters to simulate, default 10; 0: none).
#
# Channels: every prosumer runs with --channeltower <the utility node's P2P address>, so the
# utility co-signs, watches and arbitrates its channels; contrib/testnet/channel-demo.py opens
# two channels between prosumers, runs a day of meters and settles them (docs/testnet.md).
#
# start is idempotent: nodes already running are left alone (and shown). stop sends SIGTERM to
# exactly the pids that start recorded (<root>/<name>.pid) and waits for them, bounded.
#
# Meters: once the utility node runs, start also runs wattline-meters (contrib/meters) against
# it, with the utility node's credentials (the utility registers the meters and lists them),
# pid <root>/meters.pid, log <root>/meters.out. The utility node does not mine, so its wallet
# has no coins for the registration fees: the simulator asks the first running miner's wallet
# (--fund-from) for 10 coins once it needs them. stop ends the simulator first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
topology="$here/topology.conf"

usage() {
  cat <<'USAGE'
Usage: contrib/testnet/testnet.sh COMMAND [options]

Commands:
  start    start the testnet's nodes (those not running yet), wait for their APIs, show status
  status   one line per node: role, pid, ports, height, tip, connected peers
  stop     SIGTERM the nodes started from this root and wait for them to exit
  cli NAME [ARGS...]
           run wattline-cli against node NAME (e.g. `cli miner1 getinfo`; the root
           comes from $WATTLINE_TESTNET_ROOT)
  help     this text

Options:
  --root DIR        folder of the datadirs, logs and pid files
                    (default: $WATTLINE_TESTNET_ROOT or ~/.wattline/testnet-local)
  --nodes LIST      start only these nodes: comma-separated names, or N for the first N
  --base-port P     node i gets P2P port P+2i and gRPC port P+2i+1 (default 40000)
  --network NET     devnet (default: topology.conf), regtest, testnet or main
  --meters N        simulated meters against the utility node (default: $WATTLINE_TESTNET_METERS
                    or 10; 0: none); log <root>/meters.out

Nodes (contrib/testnet/topology.conf):
USAGE
  local i
  for i in "${!NAMES[@]}"; do
    printf '  %-10s %-9s peers: %-26s flags: %s\n' "${NAMES[$i]}" "${ROLES[$i]}" \
      "${PEERS[$i]:--}" "${FLAGS[$i]:--}"
  done
}

die() { echo "testnet: $*" >&2; exit 1; }

# --- the topology --------------------------------------------------------------------------
NAMES=() ROLES=() PEERS=() FLAGS=()
conf_network="" conf_base_port=""
load_topology() {
  local kind name role peers flags
  [ -r "$topology" ] || die "cannot read $topology"
  while read -r kind name role peers flags || [ -n "$kind" ]; do
    case "$kind" in
      ''|'#'*) ;;
      network) conf_network=$name ;;
      base_port) conf_base_port=$name ;;
      node)
        [ -n "$role" ] && [ -n "$peers" ] || die "$topology: bad node line for '$name'"
        NAMES+=("$name")
        ROLES+=("$role")
        [ "$peers" = "-" ] && peers=""
        PEERS+=("$peers")
        [ "$flags" = "-" ] && flags=""
        FLAGS+=("$flags")
        ;;
      *) die "$topology: unknown line '$kind'" ;;
    esac
  done <"$topology"
  [ ${#NAMES[@]} -gt 0 ] || die "$topology: no nodes"
  local i peer
  for i in "${!NAMES[@]}"; do
    for peer in ${PEERS[$i]//,/ }; do
      index_of "$peer" >/dev/null || die "$topology: ${NAMES[$i]}: no node '$peer'"
    done
  done
}

index_of() {
  local i
  for i in "${!NAMES[@]}"; do
    if [ "${NAMES[$i]}" = "$1" ]; then echo "$i"; return 0; fi
  done
  return 1
}

# --- options -------------------------------------------------------------------------------
load_topology
cmd=${1:-help}
[ $# -gt 0 ] && shift
root=${WATTLINE_TESTNET_ROOT:-$HOME/.wattline/testnet-local}
base_port=${WATTLINE_TESTNET_BASE_PORT:-}
network=${WATTLINE_TESTNET_NETWORK:-}
only_nodes=""
n_meters=${WATTLINE_TESTNET_METERS:-10}
cli_args=()
if [ "$cmd" = "cli" ]; then
  [ $# -gt 0 ] || die "usage: testnet.sh cli NAME [wattline-cli arguments...]"
  cli_node=$1; shift
  cli_args=("$@")
  set --
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a value"; root=$2; shift 2 ;;
    --root=*) root=${1#*=}; shift ;;
    --nodes) [ $# -ge 2 ] || die "--nodes needs a value"; only_nodes=$2; shift 2 ;;
    --nodes=*) only_nodes=${1#*=}; shift ;;
    --base-port) [ $# -ge 2 ] || die "--base-port needs a value"; base_port=$2; shift 2 ;;
    --base-port=*) base_port=${1#*=}; shift ;;
    --network) [ $# -ge 2 ] || die "--network needs a value"; network=$2; shift 2 ;;
    --network=*) network=${1#*=}; shift ;;
    --meters) [ $# -ge 2 ] || die "--meters needs a value"; n_meters=$2; shift 2 ;;
    --meters=*) n_meters=${1#*=}; shift ;;
    -h|--help) cmd=help; shift ;;
    *) die "unknown option '$1' (see: testnet.sh help)" ;;
  esac
done

root=$(realpath -m -- "$root")
build_dir=${WATTLINE_BUILD_DIR:-build/release}
case "$build_dir" in /*) ;; *) build_dir="$repo/$build_dir" ;; esac
daemon="$build_dir/node/wattlined"
cli="$build_dir/cli/wattline-cli"
meters_bin="$build_dir/contrib/meters/wattline-meters"
meters_pidfile="$root/meters.pid"
meters_log="$root/meters.out"
case "$n_meters" in ''|*[!0-9]*) die "--meters: a number of meters (0: none), not '$n_meters'" ;; esac
start_timeout=${WATTLINE_TESTNET_START_TIMEOUT:-60}
stop_timeout=${WATTLINE_TESTNET_STOP_TIMEOUT:-60}
state_file="$root/testnet.state"

# The network and base port a root was started with are kept in <root>/testnet.state, so that
# status and a later start use the same ones (a datadir cannot change network anyway).
load_state() {
  local key value
  if [ -r "$state_file" ]; then
    while IFS='=' read -r key value; do
      case "$key" in
        network) state_network=$value ;;
        base_port) state_base_port=$value ;;
      esac
    done <"$state_file"
  fi
}
state_network="" state_base_port=""
root_has_nodes() {
  local name
  for name in "${NAMES[@]}"; do [ -d "$root/$name" ] && return 0; done
  return 1
}
resolve_settings() {
  load_state
  if [ -n "$state_network" ] && root_has_nodes; then
    if [ "$cmd" = start ] && [ -n "$network" ] && [ "$network" != "$state_network" ]; then
      die "$root holds a $state_network testnet; use another --root for $network"
    fi
    network=$state_network
    if [ "$cmd" != start ] || [ -z "$base_port" ]; then
      base_port=$state_base_port
    elif [ "$base_port" != "$state_base_port" ] && any_running; then
      die "$root is running with base port $state_base_port; stop it first to change the ports"
    fi
  fi
  network=${network:-${conf_network:-regtest}}
  base_port=${base_port:-${conf_base_port:-40000}}
  case "$network" in main|testnet|devnet|regtest) ;; *) die "unknown network '$network'" ;; esac
  case "$base_port" in ''|*[!0-9]*) die "bad base port '$base_port'" ;; esac
  if [ "$base_port" -lt 1024 ] || [ $((base_port + 2 * ${#NAMES[@]})) -gt 65535 ]; then
    die "base port $base_port: the ports must lie in 1024-65535"
  fi
}

p2p_port() { echo $((base_port + 2 * $1)); }
rpc_port() { echo $((base_port + 2 * $1 + 1)); }
datadir_of() { echo "$root/$1"; }
pidfile_of() { echo "$root/$1.pid"; }

# The pid of node $1 if its pid file names a live wattlined of that datadir (not a reused pid).
running_pid() {
  local pid datadir cmdline=()
  datadir=$(datadir_of "$1")
  pid=$(head -n1 "$(pidfile_of "$1")" 2>/dev/null || true)
  case "$pid" in ''|*[!0-9]*) return 0 ;; esac
  kill -0 "$pid" 2>/dev/null || return 0
  mapfile -d "" -t cmdline 2>/dev/null <"/proc/$pid/cmdline" || return 0
  [ ${#cmdline[@]} -gt 0 ] && [[ "${cmdline[0]}" == *wattlined ]] || return 0
  local arg
  for arg in "${cmdline[@]}"; do
    if [ "$arg" = "$datadir" ]; then echo "$pid"; return 0; fi
  done
}

# The simulator's pid if <root>/meters.pid names a live wattline-meters of the utility's datadir.
meters_pid() {
  local pid arg datadir cmdline=()
  datadir=$(datadir_of utility)
  pid=$(head -n1 "$meters_pidfile" 2>/dev/null || true)
  case "$pid" in ''|*[!0-9]*) return 0 ;; esac
  kill -0 "$pid" 2>/dev/null || return 0
  mapfile -d "" -t cmdline 2>/dev/null <"/proc/$pid/cmdline" || return 0
  [ ${#cmdline[@]} -gt 0 ] && [[ "${cmdline[0]}" == *wattline-meters ]] || return 0
  for arg in "${cmdline[@]}"; do
    if [ "$arg" = "$datadir" ]; then echo "$pid"; return 0; fi
  done
}

any_running() {
  local name
  for name in "${NAMES[@]}"; do [ -n "$(running_pid "$name")" ] && return 0; done
  return 1
}

# wattline-cli against node $1's datadir; bounded.
node_cli() {
  local name=$1; shift
  timeout 15 "$cli" --network "$network" --datadir "$(datadir_of "$name")" --timeout 5 "$@"
}

# Selected nodes for start: all, a count, or names.
selected_nodes() {
  local n i name
  if [ -z "$only_nodes" ]; then
    echo "${NAMES[@]}"
  elif [[ "$only_nodes" =~ ^[0-9]+$ ]]; then
    n=$only_nodes
    [ "$n" -ge 1 ] && [ "$n" -le ${#NAMES[@]} ] || die "--nodes: 1 to ${#NAMES[@]}"
    for ((i = 0; i < n; i++)); do printf '%s ' "${NAMES[$i]}"; done
    echo
  else
    for name in ${only_nodes//,/ }; do
      index_of "$name" >/dev/null || die "--nodes: no node '$name' (nodes: ${NAMES[*]})"
      printf '%s ' "$name"
    done
    echo
  fi
}

# --- commands ------------------------------------------------------------------------------
start_node() {
  local name=$1 i datadir pid peer args=() flags
  i=$(index_of "$name")
  datadir=$(datadir_of "$name")
  mkdir -p "$datadir"
  rm -f "$datadir/rpc.endpoint"
  args=(--network "$network" --datadir "$datadir"
        --bind 127.0.0.1 --port "$(p2p_port "$i")"
        --rpcbind 127.0.0.1 --rpcport "$(rpc_port "$i")"
        --printtoconsole 0)
  for peer in ${PEERS[$i]//,/ }; do
    args+=(--addnode "127.0.0.1:$(p2p_port "$(index_of "$peer")")")
  done
  # Prosumers trade in channels that the utility co-funds: its node is their watchtower.
  if [ "${ROLES[$i]}" = prosumer ] && index_of utility >/dev/null; then
    args+=(--channeltower "127.0.0.1:$(p2p_port "$(index_of utility)")")
  fi
  read -r -a flags <<<"${FLAGS[$i]}"
  args+=("${flags[@]}")
  nohup "$daemon" "${args[@]}" >"$datadir/wattlined.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$(pidfile_of "$name")"
  echo "testnet: started $name (pid $pid, p2p 127.0.0.1:$(p2p_port "$i"), rpc 127.0.0.1:$(rpc_port "$i"))"
}

wait_ready() {
  local name=$1 pid datadir deadline
  datadir=$(datadir_of "$name")
  pid=$(head -n1 "$(pidfile_of "$name")")
  deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "testnet: $name (pid $pid) exited:" >&2
      tail -n 20 "$datadir/wattlined.out" >&2 || true
      rm -f "$(pidfile_of "$name")"
      return 1
    fi
    if [ -s "$datadir/rpc.endpoint" ] && node_cli "$name" getblockcount >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "testnet: $name (pid $pid) not ready after ${start_timeout}s; log: $datadir/debug.log" >&2
  return 1
}

json_field() {  # json_field NAME < one-line JSON: the value of a top-level string or number field
  sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n1
}

# Starts the simulator against the utility node, if it runs and the simulator does not yet.
start_meters() {
  local pid name i funder="" args=()
  [ "$n_meters" -gt 0 ] || return 0
  [ -n "$(meters_pid)" ] && return 0
  index_of utility >/dev/null && [ -n "$(running_pid utility)" ] || return 0
  if [ ! -x "$meters_bin" ]; then
    echo "testnet: no $meters_bin: no simulated meters (build the wattline-meters target)" >&2
    return 0
  fi
  for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    if [ "${ROLES[$i]}" = miner ] && [ -n "$(running_pid "$name")" ]; then funder=$name; break; fi
  done
  args=(--network "$network" --datadir "$(datadir_of utility)" --meters "$n_meters")
  [ -n "$funder" ] && args+=(--fund-from "$(datadir_of "$funder")")
  nohup "$meters_bin" "${args[@]}" >>"$meters_log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$meters_pidfile"
  echo "testnet: started $n_meters meters against utility (pid $pid${funder:+, fees funded by $funder}), log $meters_log"
}

stop_meters() {
  local pid deadline
  pid=$(meters_pid)
  if [ -z "$pid" ]; then rm -f "$meters_pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "testnet: meters (pid $pid) still running ${stop_timeout}s after SIGTERM" >&2
    return 1
  fi
  rm -f "$meters_pidfile"
  echo "testnet: stopped meters (pid $pid)"
}

cmd_status() {
  local i name pid state info height tip peers
  printf '%-10s %-9s %-8s %-5s %-6s %-6s %-7s %-16s %s\n' \
    NAME ROLE PID STATE P2P RPC HEIGHT TIP PEERS
  for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    pid=$(running_pid "$name")
    height="-" tip="-" peers="-"
    if [ -n "$pid" ]; then
      state=up
      if info=$(node_cli "$name" --json getinfo 2>/dev/null); then
        height=$(json_field height <<<"$info"); height=${height:--}
        tip=$(json_field tip_hash <<<"$info"); tip=${tip:0:16}; tip=${tip:--}
      fi
      if info=$(node_cli "$name" --json getpeerinfo 2>/dev/null); then
        peers=$(grep -o '"connected": *true' <<<"$info" | wc -l || true)
      fi
    else
      pid="-"
      state=down
    fi
    printf '%-10s %-9s %-8s %-5s %-6s %-6s %-7s %-16s %s\n' \
      "$name" "${ROLES[$i]}" "$pid" "$state" "$(p2p_port "$i")" "$(rpc_port "$i")" "$height" "$tip" "$peers"
  done
  pid=$(meters_pid)
  if [ -n "$pid" ]; then
    echo "meters: running (pid $pid) against utility; log $meters_log"
  else
    echo "meters: not running"
  fi
  echo "root $root, network $network; logs <root>/<name>/debug.log;" \
    "credentials <root>/<name>/credentials/*.token"
}

cmd_start() {
  local name nodes started=() failed=0
  [ -x "$daemon" ] && [ -x "$cli" ] ||
    die "no binaries in $build_dir (build: cmake --preset release && cmake --build --preset release --target wattlined wattline-cli; or set WATTLINE_BUILD_DIR)"
  nodes=$(selected_nodes) || exit 1
  mkdir -p "$root"
  printf 'network=%s\nbase_port=%s\n' "$network" "$base_port" >"$state_file"
  for name in $nodes; do
    if [ -n "$(running_pid "$name")" ]; then continue; fi
    start_node "$name"
    # Each node's API is up before the next starts: its P2P port is listening by then, so the
    # nodes that --addnode it connect at their first attempt.
    if wait_ready "$name"; then started+=("$name"); else failed=1; break; fi
  done
  if [ ${#started[@]} -eq 0 ] && [ $failed -eq 0 ]; then
    echo "testnet: already running"
  fi
  start_meters
  cmd_status
  if [ $failed -ne 0 ]; then
    echo "testnet: a node failed to start; the others keep running (contrib/testnet/testnet.sh stop)" >&2
    return 1
  fi
}

cmd_stop() {
  local name pid pids=() names=() deadline alive i rc=0
  stop_meters || rc=1
  for name in "${NAMES[@]}"; do
    pid=$(running_pid "$name")
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    else
      rm -f "$(pidfile_of "$name")"
    fi
  done
  if [ ${#pids[@]} -eq 0 ]; then echo "testnet: not running"; return $rc; fi
  deadline=$((SECONDS + stop_timeout))
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    [ $SECONDS -ge "$deadline" ] && break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "testnet: ${names[$i]} (pid ${pids[$i]}) still running ${stop_timeout}s after SIGTERM" >&2
      rc=1
    else
      rm -f "$(pidfile_of "${names[$i]}")"
      echo "testnet: stopped ${names[$i]} (pid ${pids[$i]})"
    fi
  done
  return $rc
}

case "$cmd" in
  start) resolve_settings; cmd_start ;;
  status) resolve_settings; cmd_status ;;
  stop) resolve_settings; cmd_stop ;;
  cli)
    resolve_settings
    index_of "$cli_node" >/dev/null || die "no node '$cli_node' (nodes: ${NAMES[*]})"
    exec "$cli" --network "$network" --datadir "$(datadir_of "$cli_node")" "${cli_args[@]}"
    ;;
  help) usage ;;
  *) echo "testnet: unknown command '$cmd' (start, status, stop, cli, help)" >&2; usage >&2; exit 2 ;;
esac
