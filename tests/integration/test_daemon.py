"""wattlined end to end: real daemons on loopback, real LevelDB datadirs, driven through
wattline-cli (docs/node.md, docs/api.md)."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from framework import CLI, WATTLINED, CliError, NodeTestCase, wait_until  # noqa: E402

COIN = 100_000_000


def relay_blocks(src, dst, start, end):
    """Copies active blocks start..end from src to dst (no P2P yet): getblock --raw, submitblock."""
    for h in range(start, end + 1):
        raw = src.cli("getblock", h, "--raw")["raw_hex"]
        dst.cli("submitblock", raw)


class DaemonTest(NodeTestCase):
    def test_two_wallets_200_blocks_and_restart(self):
        a = self.make_node("a").start()
        b = self.make_node("b").start()
        hashes = a.cli("generate", 200)["hashes"]
        self.assertEqual(len(hashes), 200)
        self.assertEqual(int(a.cli("getblockcount")["height"]), 200)
        relay_blocks(a, b, 1, 200)
        self.assertEqual(b.cli("getbestblockhash")["hash"], hashes[-1])

        addr_b = b.cli("getnewaddress")["address"]
        before_a = a.cli("getbalance")
        sent = a.cli("sendtoaddress", addr_b, "12.5")["txid"]
        in_pool = a.cli("gettx", sent)
        self.assertEqual(in_pool["tx"]["txid"], sent)
        self.assertTrue(in_pool["in_mempool"])
        a.cli("generate", 1)
        relay_blocks(a, b, 201, 201)
        confirmed = a.cli("gettx", sent)
        self.assertFalse(confirmed["in_mempool"])
        self.assertEqual(confirmed["height"], 201)
        bal_b = b.cli("getbalance")
        self.assertEqual(int(bal_b["confirmed"]), 12_5000_0000)
        hist_a = {t["txid"]: t for t in a.cli("listtransactions")["txs"]}
        hist_b = {t["txid"]: t for t in b.cli("listtransactions")["txs"]}
        self.assertIn(sent, hist_a)
        self.assertIn(sent, hist_b)
        self.assertEqual(int(hist_b[sent]["delta"]), 12_5000_0000)
        fee = -int(hist_a[sent]["delta"]) - 12_5000_0000
        self.assertGreater(fee, 0)
        self.assertLess(fee, 100_000)
        after_a = a.cli("getbalance")
        self.assertNotEqual(after_a, before_a)

        state = {}
        for n in (a, b):
            state[n.name] = (n.cli("getbestblockhash")["hash"], n.cli("getbalance"),
                             sorted(t["txid"] for t in n.cli("listtransactions")["txs"]))
            self.assertEqual(n.stop(), 0, f"{n.name} did not exit cleanly")
        for n in (a, b):
            n.start()
            self.assertEqual((n.cli("getbestblockhash")["hash"], n.cli("getbalance"),
                              sorted(t["txid"] for t in n.cli("listtransactions")["txs"])), state[n.name])

    def test_kill9_while_mining_loses_no_reported_block(self):
        node = self.make_node("miner", extra_args=["--mine", "1", "--minethreads", "1"]).start()
        reported = []  # (height, hash) seen over the API
        kills = int(os.environ.get("WATTLINE_KILL_ROUNDS", "20"))
        for round_ in range(kills):
            time.sleep(self.rng.uniform(0.2, 0.9))
            info = node.cli("getinfo")
            reported.append((int(info["height"]), info["tip_hash"]))
            time.sleep(self.rng.uniform(0.0, 0.3))
            node.kill9()
            node.start()
            height = int(node.cli("getblockcount")["height"])
            self.assertGreaterEqual(height, reported[-1][0], f"round {round_}: the chain went back")
            for h, block_hash in reported:
                self.assertEqual(node.cli("getblock", h)["header"]["hash"], block_hash,
                                 f"round {round_}: reported block at height {h} lost")
            # The wallet is consistent with the chain: a full rescan changes nothing.
            node.cli("stopmining")
            before = node.cli("getbalance")
            node.cli("rescan")
            self.assertEqual(node.cli("getbalance"), before, f"round {round_}: wallet differs from a rescan")
            node.cli("startmining", 1)
        self.assertEqual(node.stop(), 0)

    def test_cli_exit_codes(self):
        node = self.make_node("n").start()
        r = node.cli("no-such-command", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = node.cli("getblock", "00" * 32, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("NOT_FOUND", r.stderr)
        r = node.cli("getblock", "xyz", check=False)
        self.assertIn(r.returncode, (1, 2), r.stderr)
        r = node.cli("getinfo", role="meter")
        self.assertEqual(r["network_name"], "regtest")
        r = node.cli("generate", 1, role="meter", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("PERMISSION_DENIED", r.stderr)
        self.assertEqual(node.stop(), 0)
        r = node.cli("getinfo", check=False)
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_meter_schedules_a_household_through_the_cli(self):
        node = self.make_node("n").start()
        request = os.path.join(self.root, "request.json")
        with open(request, "w") as f:
            f.write('{"slots": 24, "prices": [%s], "appliances": [{"energyKwh": 3, "firstSlot": 6, '
                    '"lastSlot": 12, "capKwh": 1}, {"energyKwh": 2, "firstSlot": 0, "lastSlot": 23}]}'
                    % ", ".join(str(1 + (h % 5)) for h in range(24)))
        r = node.cli("schedulehousehold", request, role="meter")
        self.assertAlmostEqual(sum(r["household_kwh"]), 5.0, places=9)
        with open(request, "w") as f:
            f.write('{"slots": 24, "prices": [1], "appliances": [{"energyKwh": 3, "firstSlot": 12, "lastSlot": 6}]}')
        r = node.cli("schedulehousehold", request, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", r.stderr)

    def test_daemon_refuses_bad_setups_with_one_line(self):
        node = self.make_node("n").start()
        node.expected_errors = ["is in use by another wattlined", "holds a chainstate of network"]
        # Same datadir twice.
        r = subprocess.run([WATTLINED, "--network", "regtest", "--datadir", node.datadir, "--rpcport", "0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("in use by another wattlined", r.stderr)
        # Busy port.
        other = os.path.join(self.root, "other")
        r = subprocess.run([WATTLINED, "--network", "regtest", "--datadir", other, "--rpcport", str(node.port)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot listen", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        node.stop()
        # Another network's datadir.
        r = subprocess.run([WATTLINED, "--network", "devnet", "--datadir", node.datadir, "--rpcport", "0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not 'devnet'", r.stderr)
        # A bad config file.
        with open(os.path.join(other, "wattline.conf"), "w") as f:
            f.write("minethreads = lots\n")
        r = subprocess.run([WATTLINED, "--network", "regtest", "--datadir", other], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("wattlined: error:", r.stderr)


class QuickStartTest(NodeTestCase):
    def test_devnet_quick_start_is_idempotent_and_funds_the_wallet(self):
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        env = dict(os.environ, WATTLINE_DEVNET_DATADIR=os.path.join(self.root, "devnet"))
        script = os.path.join(root, "contrib", "devnet.sh")
        try:
            out1 = subprocess.run([script], capture_output=True, text=True, timeout=900, env=env)
            self.assertEqual(out1.returncode, 0, out1.stdout + out1.stderr)
            self.assertIn("gRPC API (TLS): 127.0.0.1:", out1.stdout)
            try_line = [l.strip() for l in out1.stdout.splitlines() if "wattline-cli" in l and "getinfo" in l][0]
            r = subprocess.run(try_line.split(), capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            # Second run: same node, nothing rebuilt.
            out2 = subprocess.run([script], capture_output=True, text=True, timeout=900, env=env)
            self.assertEqual(out2.returncode, 0, out2.stderr)
            pid = lambda out: [l for l in out.splitlines() if "running (pid" in l][0]
            self.assertEqual(pid(out1.stdout), pid(out2.stdout))
            self.assertIn("no work to do", out2.stdout)
            # The miner funds the wallet; coinbases mature after 10 devnet blocks.
            cli = [CLI, "--network", "devnet", "--datadir", env["WATTLINE_DEVNET_DATADIR"], "--json"]

            def funded():
                r = subprocess.run(cli + ["getbalance"], capture_output=True, text=True, timeout=60)
                return r.returncode == 0 and int(__import__("json").loads(r.stdout)["confirmed"]) > 0
            wait_until(funded, timeout=600, interval=1, what="a funded devnet wallet")
        finally:
            subprocess.run([script, "stop"], capture_output=True, text=True, timeout=120, env=env)


if __name__ == "__main__":
    unittest.main(verbosity=2)
