"""wattlined end to end: real daemons on loopback, real LevelDB datadirs, driven through
wattline-cli (docs/node.md, docs/api.md)."""
import fcntl
import hashlib
import os
import socket
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

    def test_sends_and_submitted_transactions_survive_kill9_right_after_the_reply(self):
        """Every txid the API returned (a wallet send, or SubmitTransaction of another node's
        transaction) is in the mempool after a SIGKILL at a random instant right after the reply,
        and confirms in the next block: mempool.journal is synced before the reply."""
        rounds = int(os.environ.get("WATTLINE_KILL_ROUNDS", "50"))
        source = self.make_node("source").start()
        victim = self.make_node("victim").start()
        source.cli("generate", 100 + rounds)  # a mature coin per payment it signs
        relay_blocks(source, victim, 1, 100 + rounds)
        victim.cli("generate", 100 + rounds)  # the victim's own coinbases: one mature coin per send
        # Payments the source signs but the victim never heard of (no P2P between them).
        to = victim.cli("getnewaddress")["address"]
        raw = []
        for _ in range(rounds // 2):
            txid = source.cli("sendtoaddress", to, "0.01")["txid"]
            raw.append(source.cli("gettx", txid)["raw_hex"])
        source.stop()
        reported = []
        for round_ in range(rounds):
            if round_ % 2 == 0 and raw:
                txid = victim.cli("sendrawtransaction", raw.pop(0))["txid"]  # in order: one may spend another's change
            else:
                txid = victim.cli("sendtoaddress", victim.cli("getnewaddress")["address"], "0.5")["txid"]
            reported.append(txid)
            time.sleep(self.rng.choice([0, 0, self.rng.uniform(0, 0.02)]))
            victim.kill9()
            victim.start()
            for t in reported:
                info = victim.cli("gettx", t)
                self.assertTrue(info.get("in_mempool") or int(info.get("confirmations", 0) or 0) > 0,
                                f"round {round_}: {t} lost: {info}")
        self.assertEqual(int(victim.cli("getinfo")["mempool_count"]), len(reported))
        victim.cli("generate", 1)
        for t in reported:
            self.assertEqual(int(victim.cli("gettx", t)["confirmations"]), 1, t)
        self.assertEqual(int(victim.cli("getinfo")["mempool_count"]), 0)

    def test_a_refused_start_changes_no_file_in_the_datadir(self):
        """Bad config, another network, a datadir in use, a corrupt wallet, busy ports: each start
        is refused with one line, and every file of the datadir (debug.log aside, which records
        the refusal) is byte-identical afterwards; then the node starts as before."""
        node = self.make_node("n").start()
        node.cli("generate", 101)
        txid = node.cli("sendtoaddress", node.cli("getnewaddress")["address"], "1")["txid"]
        self.assertEqual(node.stop(), 0)

        def snapshot():
            out = {}
            for base, _, files in os.walk(node.datadir):
                for name in files:
                    path = os.path.join(base, name)
                    rel = os.path.relpath(path, node.datadir)
                    if rel != "debug.log":
                        with open(path, "rb") as f:
                            out[rel] = hashlib.sha256(f.read()).hexdigest()
            return out

        def refused(extra, expect, network="regtest"):
            before = snapshot()
            r = subprocess.run([WATTLINED, "--network", network, "--datadir", node.datadir, "--rpcport", str(node.port),
                                "--port", str(node.p2p_port), "--bind", "127.0.0.1"] + extra,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(expect, r.stderr)
            errors = [l for l in r.stderr.splitlines() if l.startswith("wattlined: error:")]
            self.assertEqual(len(errors), 1, r.stderr)
            after = snapshot()
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            self.assertEqual(changed, [], f"{expect}: files changed by a refused start")

        node.expected_errors = ["holds a chainstate of network", "is corrupt", "is in use by another wattlined"]
        refused(["--nosuchoption", "1"], "unrecognised option")
        refused([], "holds a chainstate of network 'regtest'", network="devnet")
        with open(os.path.join(node.datadir, ".lock"), "r+") as lock:  # what a running wattlined holds
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            refused([], "is in use by another wattlined")
        for port, what in ((node.port, "cannot listen for RPC"), (node.p2p_port, "cannot listen for peers")):
            with socket.socket() as busy:
                busy.bind(("127.0.0.1", port))
                busy.listen()
                refused([], what)
        wallet = os.path.join(node.datadir, "wallet.dat")
        with open(wallet, "rb") as f:
            good = f.read()
        with open(wallet, "wb") as f:
            f.write(good[:40])  # cut short
        refused([], "is corrupt")
        with open(wallet, "wb") as f:
            f.write(good)
        node.start()
        self.assertTrue(node.cli("gettx", txid).get("in_mempool"))

    def test_a_passphrase_change_keeps_the_generated_passphrase_file_in_step(self):
        """A node-generated wallet.passphrase follows walletpassphrasechange, so the next start is
        unlocked; a change cut by a crash between the wallet and the file is repaired at start."""
        node = self.make_node("n").start()
        pass_path = os.path.join(node.datadir, "wallet.passphrase")
        next_path = pass_path + ".new"
        with open(pass_path) as f:
            old = f.read().strip()
        node.cli("walletpassphrasechange", old, "correct horse battery staple", json_out=False)
        with open(pass_path) as f:
            self.assertEqual(f.read().strip(), "correct horse battery staple")
        self.assertFalse(os.path.exists(next_path))
        node.kill9()
        node.start()
        self.assertFalse(node.cli("getwalletinfo").get("locked", False), "the next start comes up unlocked")
        # The crash between the two writes: the wallet has the new passphrase, the file the old.
        node.cli("walletpassphrasechange", "correct horse battery staple", "second", json_out=False)
        node.kill9()
        with open(pass_path, "w") as f:
            f.write("correct horse battery staple\n")
        with open(next_path, "w") as f:
            f.write("second\n")
        node.start()
        self.assertFalse(node.cli("getwalletinfo").get("locked", False))
        with open(pass_path) as f:
            self.assertEqual(f.read().strip(), "second")
        self.assertFalse(os.path.exists(next_path))
        # An operator's own passphrase (not the file's) is never written to disk.
        node.cli("walletpassphrasechange", "second", "third", json_out=False)
        with open(pass_path) as f:
            self.assertEqual(f.read().strip(), "third")
        with open(pass_path, "w") as f:
            f.write("something else\n")
        node.cli("walletpassphrasechange", "third", "fourth", json_out=False)
        with open(pass_path) as f:
            self.assertEqual(f.read().strip(), "something else")

    def test_reindex_chainstate_rebuilds_the_same_coins_with_progress_lines(self):
        node = self.make_node("n").start()
        node.cli("generate", 150)
        for _ in range(5):
            node.cli("sendtoaddress", node.cli("getnewaddress")["address"], "2")
        node.cli("generate", 2)
        before = node.cli("getcoinstats")
        self.assertEqual(node.stop(), 0)
        node.start(extra_args=["--reindex-chainstate"])
        self.assertEqual(node.cli("getcoinstats"), before)
        self.assertEqual(node.stop(), 0)  # the log is flushed by then
        with open(os.path.join(node.datadir, "debug.log")) as f:
            log = f.read()
        self.assertIn("reindex-chainstate: wiping the coins", log)
        self.assertIn(f"reindex-chainstate: block {before['height']} of {before['height']} (100%)", log)
        node.start()
        self.assertEqual(node.cli("getcoinstats"), before)
        node.cli("generate", 1)

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
        # The node dies while a call is running: the CLI cannot know whether it was carried out.
        cmd = [CLI, "--network", "regtest", "--datadir", node.datadir, "generate", "1000"]
        call = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: int(node.cli("getblockcount")["height"]) > 0, timeout=30, what="the long call running")
        node.kill9()
        _, err = call.communicate(timeout=60)
        self.assertEqual(call.returncode, 4, err)
        self.assertIn("outcome is unknown", err)
        # Down (its endpoint file left behind by the kill): "cannot connect", at once.
        t0 = time.time()
        r = node.cli("getinfo", check=False)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot connect", r.stderr)
        self.assertLess(time.time() - t0, 30, "a node that is down is reported at once, not after the timeout")
        node.start()
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
