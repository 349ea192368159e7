"""Multi-process test framework: real wattlined processes on loopback with real LevelDB
datadirs, driven through wattline-cli.

Each test gets a fresh temporary folder; nodes get free loopback ports. A node's log is
printed when a test fails. Every wait is bounded in time.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("WATTLINE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "release"))
WATTLINED = os.path.join(BUILD, "node", "wattlined")
CLI = os.path.join(BUILD, "cli", "wattline-cli")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out = set()


def free_port():
    """A free loopback port below the kernel's ephemeral range.

    A port the kernel hands out (bind to 0) can be taken again by any outbound connection (a peer,
    a CLI call) before the node binds it; one below the ephemeral range can only be taken by a
    listener. Each port is checked by binding and never handed out twice in this process."""
    rng = random.SystemRandom()
    high = max(_ephemeral_low(), 20001)
    for _ in range(2000):
        port = rng.randrange(20000, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise AssertionError("no free loopback port below the ephemeral range")


class CliError(Exception):
    def __init__(self, returncode, stdout, stderr):
        super().__init__(f"wattline-cli exited {returncode}: {stderr.strip() or stdout.strip()}")
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Node:
    def __init__(self, root, name, network="regtest", extra_args=None):
        self.name = name
        self.network = network
        self.datadir = os.path.join(root, name)
        self.port = free_port()
        self.p2p_port = free_port()
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.log_path = os.path.join(root, name + ".out")
        # Error-level log lines this test expects (substrings); any other one fails the test.
        self.expected_errors = []

    def start(self, extra_args=None, wait=True):
        # A node's first start may lose its ports to another test's listener between picking and
        # binding; it then picks new ones (no peer knows the old ones yet). Later starts keep them.
        for attempt in range(3):
            self._spawn(extra_args)
            if not wait:
                return self
            try:
                self.wait_ready()
                self.started_once = True
                return self
            except AssertionError:
                lost_port = self.proc.poll() is not None and "cannot listen" in self.output()[-400:]
                if getattr(self, "started_once", False) or not lost_port or attempt == 2:
                    raise
                self.port = free_port()
                self.p2p_port = free_port()
        return self

    def _spawn(self, extra_args):
        args = [WATTLINED, "--network", self.network, "--datadir", self.datadir, "--rpcport", str(self.port),
                "--port", str(self.p2p_port), "--bind", "127.0.0.1", "--printtoconsole", "1"] + self.extra_args + list(extra_args or [])
        if getattr(self, "log", None):
            self.log.close()  # the previous start's handle
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout=60):
        endpoint = os.path.join(self.datadir, "rpc.endpoint")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name}: wattlined exited with {self.proc.returncode}:\n{self.output()}")
            if os.path.exists(endpoint) and os.path.getsize(endpoint) > 0:
                try:
                    self.cli("getblockcount")
                    return
                except CliError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: not ready after {timeout}s:\n{self.output()}")

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-6000:]
        except OSError:
            return ""

    def cli(self, *args, role=None, json_out=True, check=True, timeout=60):
        cmd = [CLI, "--network", self.network, "--datadir", self.datadir]
        if role:
            cmd += ["--role", role]
        if json_out:
            cmd.append("--json")
        cmd += [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise CliError(r.returncode, r.stdout, r.stderr)
        if not json_out or not check:
            return r
        out = r.stdout.strip()
        if not out:
            return None
        lines = out.splitlines()
        return json.loads(out) if len(lines) == 1 else [json.loads(l) for l in lines]

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name}: did not stop within {timeout}s after SIGTERM")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def unexpected_errors(self):
        """Error-level lines of the node's debug.log that the test did not expect."""
        path = os.path.join(self.datadir, "debug.log")
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            errors = [l.rstrip() for l in f if " error " in l[:40] or " critical " in l[:40]]
        return [l for l in errors if not any(e in l for e in self.expected_errors)]

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def wait_until(predicate, timeout=60, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class NodeTestCase(unittest.TestCase):
    """Creates a temporary root; stops every node it made; prints their logs on failure."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wattline-it-")
        self.nodes = []
        seed = int(os.environ.get("WATTLINE_TEST_SEED", random.randrange(1 << 30)))
        print(f"\n[{self.id()}] seed {seed} root {self.root}", file=sys.stderr)
        self.rng = random.Random(seed)

    def make_node(self, name, **kwargs):
        node = Node(self.root, name, **kwargs)
        self.nodes.append(node)
        return node

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not getattr(outcome, "success", True)
        for node in self.nodes:
            try:
                node.stop()
            except Exception as e:  # still clean up the others
                print(f"{node.name}: {e}", file=sys.stderr)
        unexpected = {n.name: n.unexpected_errors() for n in self.nodes}
        unexpected = {k: v for k, v in unexpected.items() if v}
        if failed or unexpected or os.environ.get("WATTLINE_KEEP_LOGS"):
            for node in self.nodes:
                print(f"----- {node.name} log -----\n{node.output()}", file=sys.stderr)
        if os.environ.get("WATTLINE_KEEP_ROOT"):
            print(f"kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if unexpected and not failed:
            self.fail(f"unexpected error-level log lines: {unexpected}")
