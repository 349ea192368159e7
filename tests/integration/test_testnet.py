"""The testnet (issue 5): contrib/testnet/testnet.sh and docker/compose.yaml run the topology of
contrib/testnet/topology.conf.

- TopologyTest: docker/compose.yaml has the same services, roles, flags, peers and ports as the
  topology that testnet.sh starts (both read from topology.conf), plus the `meters` service (the
  meter simulator against the utility node), and docker/Dockerfile has what compose relies on.
- TestnetTest: testnet.sh start runs the six nodes on loopback in a temporary root on a free port
  range, with the flags of the topology; they connect, mine, converge on one tip; status names
  them all; stop ends exactly those processes (and the meter simulator that start runs against
  the utility node).

Every wait is bounded; the nodes' logs are printed when a test fails.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

from framework import BUILD, CLI, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO, "contrib", "testnet", "testnet.sh")
DEMO = os.path.join(REPO, "contrib", "testnet", "channel-demo.py")
TOPOLOGY = os.path.join(REPO, "contrib", "testnet", "topology.conf")
COMPOSE = os.path.join(REPO, "docker", "compose.yaml")
DOCKERFILE = os.path.join(REPO, "docker", "Dockerfile")


def load_topology(path=TOPOLOGY):
    """topology.conf as testnet.sh reads it: network, base port, nodes in order."""
    topo = {"network": None, "base_port": None, "nodes": []}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            kind = fields[0]
            if kind == "network":
                topo["network"] = fields[1]
            elif kind == "base_port":
                topo["base_port"] = int(fields[1])
            elif kind == "node":
                name, role, peers = fields[1], fields[2], fields[3]
                flags = fields[4:]
                topo["nodes"].append({
                    "name": name, "role": role,
                    "peers": [] if peers == "-" else peers.split(","),
                    "flags": [] if flags == ["-"] else flags,
                })
            else:
                raise AssertionError(f"{path}: unknown line {line!r}")
    for i, node in enumerate(topo["nodes"]):
        node["index"] = i
    return topo


DOCKER_SUBNET = "172.28.0."  # docker/compose.yaml's network; contrib/testnet/channel-demo.py --docker


def docker_ip(index):
    return f"{DOCKER_SUBNET}{10 + index}"


def ports_of(topo, name, base=None):
    base = topo["base_port"] if base is None else base
    i = [n["name"] for n in topo["nodes"]].index(name)
    return base + 2 * i, base + 2 * i + 1


def split_command(args):
    """wattlined arguments -> ({option: [values]} for the placement options, the other args)."""
    placement = {"--network", "--bind", "--port", "--rpcbind", "--rpcport", "--addnode", "--datadir",
                 "--channeltower"}
    opts, rest = {}, []
    i = 0
    while i < len(args):
        a = str(args[i])
        if "=" in a and a.split("=", 1)[0] in placement:
            k, v = a.split("=", 1)
            opts.setdefault(k, []).append(v)
            i += 1
        elif a in placement:
            opts.setdefault(a, []).append(str(args[i + 1]))
            i += 2
        else:
            rest.append(a)
            i += 1
    return opts, rest


class TopologyTest(unittest.TestCase):
    def setUp(self):
        self.topo = load_topology()
        with open(COMPOSE) as f:
            self.compose = yaml.safe_load(f)

    def test_topology_is_the_six_node_testnet(self):
        roles = [(n["name"], n["role"]) for n in self.topo["nodes"]]
        self.assertEqual(roles, [("utility", "utility"), ("miner1", "miner"), ("miner2", "miner"),
                                 ("prosumer1", "prosumer"), ("prosumer2", "prosumer"),
                                 ("prosumer3", "prosumer")])
        for n in self.topo["nodes"]:
            if n["role"] == "utility":
                self.assertEqual(n["flags"], ["--utility", "1"])
            elif n["role"] == "miner":
                self.assertEqual(n["flags"], ["--mine", "1", "--minethreads", "1"])
                self.assertIn("utility", n["peers"])
            else:
                self.assertEqual(n["flags"], [])
                self.assertIn("utility", n["peers"])
            earlier = [m["name"] for m in self.topo["nodes"][:n["index"]]]
            for p in n["peers"]:
                self.assertIn(p, earlier, f"{n['name']}: peer {p} is not an earlier node")

    def test_compose_matches_the_topology(self):
        topo = self.topo
        services = self.compose["services"]
        # The nodes in topology order, then the meter simulator (not a node).
        self.assertEqual(list(services), [n["name"] for n in topo["nodes"]] + ["meters"])
        volumes = self.compose.get("volumes") or {}
        seen_volumes = set()
        utility = next(n for n in topo["nodes"] if n["role"] == "utility")
        subnet = self.compose["networks"]["testnet"]["ipam"]["config"][0]["subnet"]
        self.assertEqual(subnet, DOCKER_SUBNET + "0/24")
        for n in topo["nodes"]:
            name = n["name"]
            svc = services[name]
            p2p, rpc = ports_of(topo, name)
            with self.subTest(service=name):
                self.assertEqual((svc.get("labels") or {}).get("org.wattline.role"), n["role"])
                opts, rest = split_command(svc["command"])
                self.assertEqual(opts.get("--network"), [topo["network"]])
                self.assertEqual(opts.get("--bind"), ["0.0.0.0"])
                self.assertEqual(opts.get("--rpcbind"), ["0.0.0.0"])
                self.assertEqual(opts.get("--port"), [str(p2p)])
                self.assertEqual(opts.get("--rpcport"), [str(rpc)])
                self.assertNotIn("--datadir", opts)  # the image's entrypoint sets /data
                self.assertEqual(opts.get("--addnode", []),
                                 [f"{p}:{ports_of(topo, p)[0]}" for p in n["peers"]])
                # Fixed addresses (channel peers and the tower are named ip:port): node i is .10+i;
                # prosumers name the utility's as their channel tower, as testnet.sh does.
                nets = svc.get("networks") or {}
                self.assertEqual(list(nets), ["testnet"])
                self.assertEqual(nets["testnet"]["ipv4_address"], docker_ip(n["index"]))
                self.assertEqual(opts.get("--channeltower", []),
                                 [f"{docker_ip(utility['index'])}:{ports_of(topo, 'utility')[0]}"]
                                 if n["role"] == "prosumer" else [])
                self.assertEqual(rest, n["flags"])
                # Published on the same port numbers; the API on loopback only.
                published = sorted(str(p) for p in svc["ports"])
                self.assertEqual(published, sorted([f"{p2p}:{p2p}", f"127.0.0.1:{rpc}:{rpc}"]))
                # One named volume per node, mounted at /data.
                vols = [str(v) for v in svc["volumes"]]
                self.assertEqual(len(vols), 1)
                vol, target = vols[0].split(":", 1)
                self.assertEqual(target, "/data")
                self.assertIn(vol, volumes)
                self.assertNotIn(vol, seen_volumes)
                seen_volumes.add(vol)
                # Started after the peers it dials (they are retried anyway).
                depends = svc.get("depends_on") or []
                self.assertEqual(sorted(depends), sorted(n["peers"]))
                # The image built from this repository's Dockerfile.
                build = svc["build"]
                context = os.path.normpath(os.path.join(os.path.dirname(COMPOSE), build["context"]))
                self.assertEqual(context, REPO)
                self.assertEqual(os.path.normpath(os.path.join(context, build["dockerfile"])), DOCKERFILE)
                self.assertEqual(svc["image"], services[topo["nodes"][0]["name"]]["image"])
        self.check_compose_meters(services, volumes)

    def check_compose_meters(self, services, volumes):
        """`meters` runs wattline-meters from the same image against the utility node, with the
        utility's volume (credentials, certificate) and a miner's (it pays the fees) read-only."""
        topo = self.topo
        svc = services["meters"]
        self.assertEqual(svc["image"], services[topo["nodes"][0]["name"]]["image"])
        self.assertEqual((svc.get("labels") or {}).get("org.wattline.role"), "meters")
        self.assertEqual(svc.get("entrypoint"), ["wattline-meters"])
        self.assertNotIn("ports", svc)
        self.assertTrue((svc.get("healthcheck") or {}).get("disable"))
        args = [str(a) for a in svc["command"]]
        opt = {args[i]: args[i + 1] for i in range(0, len(args) - 1) if args[i].startswith("--")}
        self.assertEqual(opt.get("--network"), topo["network"])
        mounts = {}
        for v in svc["volumes"]:
            vol, target, mode = (str(v).split(":") + [""])[:3]
            self.assertIn(vol, volumes)
            self.assertEqual(mode, "ro", v)
            mounts[target] = vol
        utility = next(n for n in topo["nodes"] if n["role"] == "utility")
        self.assertEqual(mounts.get(opt.get("--datadir")), f"{utility['name']}-data")
        self.assertEqual(opt.get("--rpcconnect"), f"{utility['name']}:{ports_of(topo, utility['name'])[1]}")
        funder = opt.get("--fund-rpcconnect", "").split(":")[0]
        self.assertIn(funder, [n["name"] for n in topo["nodes"] if n["role"] == "miner"])
        self.assertEqual(opt.get("--fund-rpcconnect"), f"{funder}:{ports_of(topo, funder)[1]}")
        self.assertEqual(mounts.get(opt.get("--fund-from")), f"{funder}-data")
        self.assertEqual(sorted(svc.get("depends_on") or []), sorted([utility["name"], funder]))

    def test_dockerfile_runs_wattlined_on_data_as_wattline(self):
        with open(DOCKERFILE) as f:
            text = f.read()
        lines = [l.strip() for l in text.replace("\\\n", " ").splitlines() if l.strip() and not l.startswith("#")]
        froms = [l for l in lines if l.startswith("FROM ")]
        self.assertEqual(len(froms), 2, froms)
        self.assertTrue(froms[0].startswith("FROM debian:bookworm"), froms[0])
        self.assertTrue(froms[1].startswith("FROM debian:bookworm"), froms[1])
        self.assertIn("contrib/install-deps.sh", text)
        self.assertRegex(text, r"cmake --preset release")
        self.assertRegex(text, r"--target wattlined wattline-cli wattline-meters")
        self.assertRegex(text, r"COPY --from=builder [^\n]*wattlined[^\n]*wattline-cli\s*\\\s*\n\s*\S*wattline-meters")
        self.assertIn("USER wattline", lines)
        self.assertIn("VOLUME /data", lines)
        self.assertTrue(any(l.startswith("EXPOSE ") for l in lines))
        health = [l for l in lines if l.startswith("HEALTHCHECK")]
        self.assertEqual(len(health), 1)
        self.assertIn('"wattline-cli"', health[0])
        self.assertIn('"getinfo"', health[0])
        entry = [l for l in lines if l.startswith("ENTRYPOINT")]
        self.assertEqual(len(entry), 1)
        self.assertRegex(entry[0], r'\["wattlined", "--datadir", "/data"')
        with open(os.path.join(REPO, ".dockerignore")) as f:
            self.assertIn("build/", f.read().split())


def free_base_port(count, rng):
    """A base port whose next 2*count ports are free on loopback, below the ephemeral range."""
    for _ in range(200):
        base = rng.randrange(20000, 32000 - 2 * count, 2)
        socks = []
        try:
            for p in range(base, base + 2 * count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range found")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class TestnetTest(unittest.TestCase):
    def setUp(self):
        self.topo = load_topology()
        self.root = tempfile.mkdtemp(prefix="wattline-testnet-")
        seed = int(os.environ.get("WATTLINE_TEST_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(seed)
        self.base = free_base_port(len(self.topo["nodes"]), self.rng)
        print(f"\n[{self.id()}] seed {seed} root {self.root} base port {self.base}", file=sys.stderr)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_TESTNET_")}
        self.env["WATTLINE_BUILD_DIR"] = os.path.abspath(BUILD)
        self.env["WATTLINE_TESTNET_ROOT"] = self.root
        self.env["WATTLINE_TESTNET_BASE_PORT"] = str(self.base)

    def script(self, *args, timeout=300, check=True):
        r = subprocess.run([SCRIPT] + list(args), env=self.env, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        print(f"$ testnet.sh {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
        if check:
            self.assertEqual(r.returncode, 0, f"testnet.sh {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r

    def cli(self, name, *args, timeout=30):
        cmd = [CLI, "--network", self.topo["network"], "--datadir", os.path.join(self.root, name),
               "--timeout", "10", "--json"] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"{name}: wattline-cli {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def pids(self):
        out = {}
        for n in self.topo["nodes"]:
            path = os.path.join(self.root, n["name"] + ".pid")
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read().strip()
                if text.isdigit():
                    out[n["name"]] = int(text)
        return out

    def meters_pid(self):
        path = os.path.join(self.root, "meters.pid")
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit():
                return int(text)
        return None

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not getattr(outcome, "success", True)
        leftover = {k: p for k, p in self.pids().items() if pid_alive(p)}
        if self.meters_pid() is not None and pid_alive(self.meters_pid()):
            leftover["meters"] = self.meters_pid()
        if leftover:
            try:
                self.script("stop", timeout=120, check=False)
            except subprocess.TimeoutExpired:
                pass
            for name, pid in leftover.items():  # only the pids the script started for this test
                if pid_alive(pid):
                    print(f"{name}: pid {pid} still running after stop: SIGKILL", file=sys.stderr)
                    os.kill(pid, signal.SIGKILL)
        if failed or os.environ.get("WATTLINE_KEEP_LOGS"):
            for n in self.topo["nodes"]:
                log = os.path.join(self.root, n["name"], "debug.log")
                try:
                    with open(log, "rb") as f:
                        text = f.read().decode(errors="replace")[-4000:]
                except OSError:
                    text = "(no log)"
                print(f"----- {n['name']} log -----\n{text}", file=sys.stderr)
            try:
                with open(os.path.join(self.root, "meters.out"), "rb") as f:
                    text = f.read().decode(errors="replace")[-4000:]
            except OSError:
                text = "(no log)"
            print(f"----- meters.out -----\n{text}", file=sys.stderr)
        if os.environ.get("WATTLINE_KEEP_ROOT"):
            print(f"kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def expected_args(self, node):
        p2p, rpc = ports_of(self.topo, node["name"], self.base)
        args = ["--network", self.topo["network"], "--datadir", os.path.join(self.root, node["name"]),
                "--bind", "127.0.0.1", "--port", str(p2p), "--rpcbind", "127.0.0.1", "--rpcport", str(rpc)]
        for p in node["peers"]:
            args += ["--addnode", f"127.0.0.1:{ports_of(self.topo, p, self.base)[0]}"]
        if node["role"] == "prosumer":
            args += ["--channeltower", f"127.0.0.1:{ports_of(self.topo, 'utility', self.base)[0]}"]
        return args

    def test_script_refuses_bad_arguments_with_one_line_and_starts_nothing(self):
        cases = [
            (["launch"], 2, "unknown command 'launch'"),
            (["start", "--bogus"], 1, "unknown option '--bogus'"),
            (["start", "--nodes", "nosuch"], 1, "no node 'nosuch'"),
            (["start", "--nodes", "99"], 1, "--nodes: 1 to"),
            (["start", "--network", "moon"], 1, "unknown network 'moon'"),
            (["start", "--base-port", "80"], 1, "1024-65535"),
            (["start", "--base-port", "4x"], 1, "bad base port"),
            (["start", "--root"], 1, "--root needs a value"),
            (["cli", "nosuch", "getinfo"], 1, "no node 'nosuch'"),
        ]
        for args, code, text in cases:
            r = self.script(*args, timeout=60, check=False)
            self.assertEqual(r.returncode, code, f"testnet.sh {' '.join(args)}")
            self.assertIn(text, r.stderr, f"testnet.sh {' '.join(args)}")
        self.assertEqual(self.pids(), {}, "a refused start started nodes")

    def test_script_starts_a_connected_testnet_and_stops_it(self):
        nodes = self.topo["nodes"]
        names = [n["name"] for n in nodes]
        r = self.script("start", timeout=60 * len(nodes) + 60)
        for name in names:
            self.assertIn(f"started {name}", r.stdout)

        # The processes run the topology's flags: the same that docker/compose.yaml passes,
        # but on loopback, with this test's root and ports.
        pids = self.pids()
        self.assertEqual(sorted(pids), sorted(names))
        for n in nodes:
            pid = pids[n["name"]]
            self.assertTrue(pid_alive(pid), n["name"])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0") if a]
            self.assertEqual(os.path.realpath(argv[0]), os.path.realpath(os.path.join(BUILD, "node", "wattlined")))
            opts, rest = split_command(argv[1:])
            exp_opts, _ = split_command(self.expected_args(n))
            self.assertEqual(opts, exp_opts, n["name"])
            self.assertEqual([a for a in rest if a not in ("--printtoconsole", "0")], n["flags"], n["name"])

        # The meter simulator runs against the utility node (its own pid file).
        meters_pid = self.meters_pid()
        self.assertIsNotNone(meters_pid, r.stdout)
        self.assertTrue(pid_alive(meters_pid))
        with open(f"/proc/{meters_pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        self.assertTrue(argv[0].endswith("wattline-meters"), argv)
        self.assertIn(os.path.join(self.root, "utility"), argv)

        # Idempotent: a second start starts nothing and shows the running nodes.
        r = self.script("start")
        self.assertIn("already running", r.stdout)
        self.assertEqual(self.pids(), pids)
        self.assertEqual(self.meters_pid(), meters_pid)

        def tip(name):
            info = self.cli(name, "getinfo")
            return int(info["height"]), info["tip_hash"]

        def connected(name):
            return [p for p in self.cli(name, "getpeerinfo").get("peers", []) if p.get("connected")]

        # Every node connected to each peer it names, and the miners' blocks reach everyone.
        def all_connected():
            for n in nodes:
                addrs = {p["address"] for p in connected(n["name"])}
                for peer in n["peers"]:
                    if f"127.0.0.1:{ports_of(self.topo, peer, self.base)[0]}" not in addrs:
                        return False
            return all(connected(name) for name in names)
        wait_until(all_connected, timeout=120, interval=0.5, what="every node connected to its peers")
        wait_until(lambda: min(tip(name)[0] for name in names) >= 5, timeout=180, interval=0.5,
                   what="every node at height 5 or more")
        for n in nodes:
            if n["role"] == "miner":
                self.cli(n["name"], "stopmining")

        def same_tip():
            return len({tip(name) for name in names}) == 1
        wait_until(same_tip, timeout=120, interval=0.5, what="every node on the same tip")
        height, tip_hash = tip(names[0])
        self.assertGreaterEqual(height, 5)

        # status: one line per node, up, with its height, tip prefix and connected peers.
        r = self.script("status")
        lines = {l.split()[0]: l.split() for l in r.stdout.splitlines() if l.split()}
        for n in nodes:
            self.assertIn(n["name"], lines, r.stdout)
            row = lines[n["name"]]
            p2p, rpc = ports_of(self.topo, n["name"], self.base)
            # NAME ROLE PID STATE P2P RPC HEIGHT TIP PEERS
            self.assertEqual(row[:7], [n["name"], n["role"], str(pids[n["name"]]), "up", str(p2p), str(rpc),
                                       str(height)], r.stdout)
            self.assertTrue(tip_hash.startswith(row[7]) and len(row[7]) >= 8, r.stdout)
            self.assertRegex(row[8], r"^[1-9][0-9]*$", r.stdout)

        # stop: SIGTERM to exactly these pids; all gone, pid files removed.
        r = self.script("stop", timeout=180)
        for name in names:
            self.assertIn(f"stopped {name} (pid {pids[name]})", r.stdout)
        for name, pid in pids.items():
            self.assertFalse(pid_alive(pid), f"{name} (pid {pid}) still running")
        self.assertEqual(self.pids(), {})
        self.assertIn(f"stopped meters (pid {meters_pid})", r.stdout)
        self.assertFalse(pid_alive(meters_pid), "wattline-meters still running")
        self.assertIsNone(self.meters_pid())
        r = self.script("status")
        for name in names:
            self.assertRegex(r.stdout, rf"(?m)^{name}\s+\S+\s+-\s+down\b")
        r = self.script("stop")
        self.assertIn("not running", r.stdout)
        # A clean shutdown: every node logged no error.
        for name in names:
            with open(os.path.join(self.root, name, "debug.log"), errors="replace") as f:
                errors = [l.rstrip() for l in f if " error " in l[:40] or " critical " in l[:40]]
            self.assertEqual(errors, [], name)

    def test_channel_demo_opens_two_channels_runs_a_day_of_meters_and_settles_one_by_penalty(self):
        """contrib/testnet/channel-demo.py on the six local nodes, as docs/testnet.md tells an
        operator to run it: it checks every balance itself (exit 0 only when each is the one the
        terms and the counted readings give); here its summary is checked again."""
        self.script("start", "--meters", "0")
        r = subprocess.run([DEMO, "--json", "--timeout", "420"], env=self.env, capture_output=True, text=True,
                           timeout=480, stdin=subprocess.DEVNULL)
        print(f"$ channel-demo.py -> {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("every balance is the one the terms and the counted readings give", r.stdout)
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        coop, pen = summary["channels"]["coop"], summary["channels"]["penalty"]
        self.assertGreater(coop["cc"], 0, "A paid as metered")
        self.assertLess(pen["exports"], min(pen["imports"], pen["energy"]), "B fell short")
        self.assertEqual(summary["pool"]["added"], pen["cwb"])
        self.assertTrue(summary["pool"]["checked"], "a fresh testnet's pool is empty before the demo")
        for t in (coop, pen):
            for name in (t["a"], t["b"]):
                info = self.cli(name, "getchannel", t["id"])
                self.assertEqual((info["phase"], info["onchain"]), ("closed", "settled"), name)
        # The penalty close was the utility's: arbitrated on A's request.
        self.assertEqual(self.cli(pen["a"], "getchannel", pen["id"])["arbitration"], "broadcast")
        # Bad arguments: a clear line and exit 2, nothing done.
        r = subprocess.run([DEMO, "--timeout", "x"], env=self.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.script("stop", timeout=180)


if __name__ == "__main__":
    unittest.main()
