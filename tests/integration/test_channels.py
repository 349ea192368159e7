"""Multi-process tests of channels (issue 11): three real regtest daemons on loopback: the
utility U (mines, registers the meters, runs the watchtower), a consumer A and a producer B.
A opens a channel to B through ChannelService (the messages travel in P2P `channel` frames),
the funding confirms, A pays B in 1,000 updates, B closes cooperatively, and the coins add up
to the unit. A second test kills A with SIGKILL between updates and restarts it: the channel
resumes at the newest state both sides hold, and a force close settles it after the window.

Every wait is bounded; the nodes' logs are printed when a test fails.
"""
import json
import os
import random
import shutil
import threading
import time

import subprocess

from framework import BUILD, NodeTestCase, wait_until, CliError

MATURITY = 100
COIN = 100_000_000
METERS = os.environ.get("WATTLINE_METERS", os.path.join(BUILD, "contrib", "meters", "wattline-meters"))
FORGE = os.path.join(BUILD, "tests", "integration", "wattline-forge-close")
INTERVAL = 900
DUST = 1_000  # consensus channel_dust: a share below it joins the fee


def energy_cost(wh, price):
    return (wh * price + 999) // 1000


def field(d, name):
    """A proto field from the CLI's JSON (64-bit integers are strings)."""
    v = d.get(name)
    return int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v


class ChannelTest(NodeTestCase):
    def start_nodes(self, tower=True):
        """U (utility, miner), A (consumer) and B (producer), each funded with 0.1 coins and a
        registered meter. With tower=False A and B send the utility no states to watch."""
        self.u = self.make_node("utility", extra_args=["--utility", "1"]).start()
        tower = ["--channeltower", f"127.0.0.1:{self.u.p2p_port}"] if tower else []
        self.a = self.make_node("consumer", extra_args=["--addnode", f"127.0.0.1:{self.u.p2p_port}"] + tower).start()
        self.b = self.make_node("producer", extra_args=["--addnode", f"127.0.0.1:{self.u.p2p_port}"] + tower).start()
        self.u.cli("generate", MATURITY + 5)
        for n in (self.a, self.b):
            addr = n.cli("getnewaddress")["address"]
            self.u.cli("sendtoaddress", addr, "0.05")
            self.u.cli("sendtoaddress", addr, "0.05")
        # Meters: A's consumes, B's produces; each owned by its node's channel key.
        self.meter = {}
        for n, role in ((self.a, "consumer"), (self.b, "producer")):
            key_file = os.path.join(self.root, n.name + ".meter")
            pub = n.cli("meter", "provision", "--out", key_file)["meter"]
            owner = n.cli("getchannelkey")["key"]
            self.u.cli("registermeter", pub, owner, role, role="utility")
            self.meter[n.name] = pub
        self.b_key = self.b.cli("getchannelkey")["key"]
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: int(n.cli("getbalance")["confirmed"]) == 10_000_000, timeout=60,
                       what=f"{n.name} holds its 0.1 coins")

    def mine(self, n):
        self.u.cli("generate", n)
        h = int(self.u.cli("getinfo")["height"])
        for node in (self.a, self.b):
            if node.proc is not None:
                wait_until(lambda node=node: int(node.cli("getinfo")["height"]) >= h, timeout=60,
                           what=f"{node.name} at height {h}")

    def channel(self, node, cid):
        return node.cli("getchannel", cid)

    def open_channel(self, cwa=500_000, cwb=300_000, window=3, lifetime=1000):
        cid = self.a.cli("openchannel", f"127.0.0.1:{self.b.p2p_port}", self.b.cli("getchannelkey")["key"],
                         self.meter["producer"], self.meter["consumer"], 1000, cwb, "--cwa", cwa,
                         "--window", window, "--lifetime", lifetime)["id"]
        wait_until(lambda: self.channel(self.a, cid)["phase"] == "funding", timeout=60,
                   what="state 0 signed by both and the funding broadcast")
        time.sleep(0.5)  # the funding relays to the utility's mempool
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "open", timeout=60, what=f"{n.name}: open")
        return cid

    def balances(self):
        return {n.name: int(n.cli("getbalance")["confirmed"]) for n in (self.a, self.b)}

    def pay_with_a_backup_between(self, cid, before, after):
        """A pays `before` times 1,000, its datadir is copied (stopped), then it pays `after` more
        times; returns the backup's path."""
        for _ in range(before):
            self.a.cli("pay", cid, 1_000)
        self.a.stop()
        backup = os.path.join(self.root, "consumer-backup")
        shutil.copytree(self.a.datadir, backup)
        self.a.start()
        for _ in range(after):
            self.assertTrue(self.a.cli("pay", cid, 1_000).get("signed"))
        self.assertEqual(field(self.channel(self.b, cid), "state"), before + after)
        return backup

    def restore_a(self, backup):
        """A restarted from the backup, as an operator restoring an old copy would."""
        self.a.stop()
        shutil.rmtree(self.a.datadir)
        shutil.copytree(backup, self.a.datadir)
        self.a.start()

    def test_open_a_thousand_updates_and_a_cooperative_close(self):
        self.start_nodes()
        before = self.balances()
        cid = self.open_channel()
        funded = self.balances()
        # A put in CwA + the funding fee (2,000), B exactly CwB.
        self.assertEqual(before["consumer"] - funded["consumer"], 500_000 + 2_000)
        self.assertEqual(before["producer"] - funded["producer"], 300_000)
        # Bad input gets a clear refusal.
        r = self.b.cli("pay", cid, 10, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only the consumer", r.stderr)
        r = self.a.cli("pay", cid, 600_000, check=False)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        r = self.a.cli("getchannel", "00" * 32, check=False)
        self.assertIn("NOT_FOUND", r.stderr)
        started = time.time()
        for i in range(1000):
            out = self.a.cli("pay", cid, 100)
            self.assertTrue(out.get("signed"), f"update {i + 1}: {out}")
        print(f"\n1,000 updates over gRPC + P2P in {time.time() - started:.1f} s", flush=True)
        for n in (self.a, self.b):
            ch = self.channel(n, cid)
            self.assertEqual(field(ch, "state"), 1000, n.name)
            self.assertEqual(field(ch, "cc"), 100_000, n.name)
        # The tower holds the newest state too (it is logged only when refused; the chain proves it below).
        self.b.cli("closechannel", cid)
        wait_until(lambda: self.channel(self.b, cid)["phase"] == "closing", timeout=30, what="B signed its close")
        time.sleep(0.5)  # the close_ack reaches A; both broadcast
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
            self.assertEqual(self.channel(n, cid)["onchain"], "settled")
        after = self.balances()
        fee = 8_000  # the fee floor: 1% of the 800,000 settled while the pool pays nothing
        self.assertEqual(after["producer"], funded["producer"] + 300_000 + 100_000)
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000 - 100_000 - fee)
        info = self.u.cli("getmarketinfo", role="wallet")
        self.assertEqual(field(info, "channels_funded"), 1)
        self.assertEqual(field(info, "channels_settled"), 1)

    def test_a_proposal_is_cancelled_with_its_coins_released_and_an_open_channel_is_not(self):
        self.start_nodes()
        self.b.stop()
        # B is offline: the proposal waits (coins reserved) until A withdraws it.
        cid = self.a.cli("openchannel", f"127.0.0.1:{self.b.p2p_port}", self.b_key, self.meter["producer"],
                         self.meter["consumer"], 1000, 300_000, "--cwa", 9_000_000, "--window", 3)["id"]
        self.assertEqual(self.channel(self.a, cid)["phase"], "proposed")
        # A's 0.1 coins are two coins of 0.05: the proposal holds both; a second one finds none free.
        r = self.a.cli("openchannel", f"127.0.0.1:{self.b.p2p_port}", self.b_key, self.meter["producer"],
                       self.meter["consumer"], 1000, 300_000, "--cwa", 9_000_000, "--window", 3, check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.a.cli("cancelchannel", cid)
        self.assertEqual(self.channel(self.a, cid)["phase"], "failed")
        r = self.a.cli("cancelchannel", cid, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only a proposal can be cancelled", r.stderr)
        r = self.a.cli("cancelchannel", "00" * 32, check=False)
        self.assertIn("NOT_FOUND", r.stderr)
        r = self.a.cli("cancelchannel", "xyz", check=False)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        # The coins are free again: a channel opens with them once B is back, and is not cancelled.
        self.b.start()
        cid = self.open_channel()
        r = self.a.cli("cancelchannel", cid, check=False)
        self.assertIn("FAILED_PRECONDITION", r.stderr)
        self.assertEqual(self.channel(self.a, cid)["phase"], "open")

    def test_evidence_and_expiry_closes_and_the_event_stream(self):
        """EvidenceClose names why it cannot close (the delivery interval runs), ExpiryClose waits for T
        and then closes at state 0 with one signature, and WatchChannels streams every change."""
        self.start_nodes()
        events = []
        watcher = threading.Thread(target=lambda: events.extend(
            self.a.cli("watchchannels", "--count", 4, timeout=180)))
        watcher.start()
        time.sleep(1.0)  # subscribed before the open
        lifetime = 12
        cid = self.open_channel(lifetime=lifetime)
        funded = self.balances()
        for n in (self.a, self.b):
            r = n.cli("evidenceclose", cid, check=False)
            self.assertNotEqual(r.returncode, 0, n.name)
            self.assertIn("FAILED_PRECONDITION", r.stderr)
            self.assertIn("the delivery interval ends at", r.stderr)  # a day from now by default
        r = self.a.cli("evidenceclose", "zz", check=False)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        r = self.a.cli("watchchannels", "00" * 32, check=False)
        self.assertIn("NOT_FOUND", r.stderr)
        r = self.a.cli("evidenceclose", cid, "--wait-ms", 60_001, check=False)
        self.assertIn("wait_ms: at most 60000", r.stderr)
        self.a.cli("pay", cid, 5_000)
        r = self.b.cli("expiryclose", cid, check=False)
        self.assertIn("expires at height", r.stderr)
        r = self.b.cli("expiryclose", "ab" * 32 + ":x", check=False)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        self.mine(lifetime)
        txid = self.b.cli("expiryclose", cid)["txid"]
        self.assertEqual(len(txid), 64)
        time.sleep(0.5)  # relays to the utility, which mines
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        after = self.balances()
        # State 0 whatever was paid off chain; B alone signed, so B alone pays the fee floor (1% of 800,000).
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000)
        self.assertEqual(after["producer"], funded["producer"] + 300_000 - 8_000)
        watcher.join(timeout=120)
        self.assertFalse(watcher.is_alive(), "the stream ended after its 4 events")
        phases = [e["channel"]["phase"] for e in events]
        self.assertEqual(phases[0], "proposed", phases)
        self.assertIn("funding", phases)
        self.assertTrue(all(e["channel"]["id"] == cid for e in events), events)

    def penalty_channel(self):
        """A channel whose delivery interval has ended with real meter readings counted on chain
        (wattline-meters, signing for regtest, after the funding): A's meter imports, B's exports
        less than A asked. One more reading of each meter, after the interval, is counted too.
        Returns what the tests need to compute the split."""
        self.assertTrue(os.path.exists(METERS), f"{METERS} is not built")
        self.start_nodes()
        seed = 11  # meter 0 is a producer, meter 1 a consumer (roles go by index)
        listed = subprocess.run([METERS, "--meters", "2", "--seed", str(seed), "--list", "--json"],
                                capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
        sim = [json.loads(line) for line in listed]
        self.assertEqual([m["role"] for m in sim], ["producer", "consumer"])
        # A price that makes the shares worth counting: c = 100,000 units per kWh from the next
        # slot; then start the channel early in a slot (10 blocks each) so its funding stays in it.
        self.u.cli("setcoefficients", 1, 1, 100_000, role="utility")
        self.mine(10)
        while (int(self.u.cli("getinfo")["height"]) + 1) % 10 != 1:
            self.mine(1)
        self.u.cli("registermeter", sim[0]["meter"], self.b.cli("getchannelkey")["key"], "producer", role="utility")
        self.u.cli("registermeter", sim[1]["meter"], self.a.cli("getchannelkey")["key"], "consumer", role="utility")
        self.mine(1)
        self.meter = {"producer": sim[0]["meter"], "consumer": sim[1]["meter"]}
        # Yesterday 10:00-12:00 UTC: ended, and in daylight whatever the hour the test runs at (the
        # simulated panels produce between 06:00 and 18:00, so a window just before now can be dark).
        start = (int(time.time()) // 86_400 - 1) * 86_400 + 10 * 3_600
        intervals = 8
        end = start + intervals * INTERVAL
        cwa, cwb = 500_000, 300_000
        price = int(self.u.cli("getprice")["price"])
        energy = max(1, cwa * 1000 // max(price, 1))  # as much as CwA pays for
        cid = self.a.cli("openchannel", f"127.0.0.1:{self.b.p2p_port}", self.b.cli("getchannelkey")["key"],
                         self.meter["producer"], self.meter["consumer"], energy, cwb, "--cwa", cwa,
                         "--window", 3, "--delivery-start", start, "--delivery-end", end)["id"]
        wait_until(lambda: self.channel(self.a, cid)["phase"] == "funding", timeout=60, what="funding broadcast")
        time.sleep(0.5)
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "open", timeout=60, what=f"{n.name}: open")
        price = field(self.channel(self.a, cid), "price")
        funded = self.balances()
        # Before any reading is counted there is nothing to prove.
        r = self.a.cli("evidenceclose", cid, check=False)
        self.assertIn("no reading", r.stderr)

        out = subprocess.run([METERS, "--network", "regtest", "--datadir", self.u.datadir, "--meters", "2",
                              "--seed", str(seed), "--interval", str(INTERVAL), "--start", str(start),
                              "--intervals", str(intervals + 1), "--speed", "0", "--no-register", "--quiet"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr[-2000:])

        def counted(meter, inside=True):
            rs = self.u.cli("listreadings", meter).get("readings", [])
            return [x["reading"] for x in rs if not inside or start <= int(x["reading"]["start"]) < end]
        for _ in range(20):
            if all(len(counted(m, inside=False)) == intervals + 1 for m in self.meter.values()):
                break
            self.mine(1)
        self.assertTrue(all(len(counted(m)) == intervals for m in self.meter.values()))
        imports = sum(field(x, "import_wh") or 0 for x in counted(self.meter["consumer"]))
        exports = sum(field(x, "export_wh") or 0 for x in counted(self.meter["producer"]))
        self.assertLess(exports, energy, "B delivered less than asked")
        self.mine(1)  # A's node sees the last readings too
        # Every counted reading, A's meter's then B's, each in the chain's order.
        readings = counted(self.meter["consumer"], inside=False) + counted(self.meter["producer"], inside=False)
        return {"cid": cid, "cwa": cwa, "cwb": cwb, "energy": energy, "price": price, "funded": funded,
                "imports": imports, "exports": exports, "readings": readings,
                "rewarded_export": sum(field(x, "export_wh") or 0 for x in counted(self.meter["producer"], inside=False))}

    def test_a_penalty_close_from_counted_meter_readings_pools_bs_collateral(self):
        """A's node asks for the penalty close; the utility's node rebuilds it from its own chain's
        readings, co-signs and broadcasts it; the payouts are the ones computed here from the
        counted readings alone, and B's collateral is in the pool."""
        p = self.penalty_channel()
        cid, cwa, cwb, energy, price, funded = p["cid"], p["cwa"], p["cwb"], p["energy"], p["price"], p["funded"]
        imports, exports = p["imports"], p["exports"]
        res = self.a.cli("evidenceclose", cid, "--wait-ms", 30_000)
        self.assertEqual(res["path"], "penalty")
        self.assertEqual(self.channel(self.a, cid)["arbitration"], "broadcast")
        pool_before = int(self.u.cli("getcoinstats").get("pool", 0) or 0)
        time.sleep(0.5)
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")

        # The split computed from the counted readings alone (consensus/channel.cpp, PenaltyShares).
        received = min(imports, energy)
        delivered = min(exports, received)
        paid, to_b = energy_cost(received, price), energy_cost(delivered, price)
        shares = {"a": cwa - paid, "b": to_b, "u": paid - to_b}
        fee = max(2_000, (cwa + cwb) // 100)  # the fee floor: 1% of what the channel holds
        for who in ("a", "u"):  # A pays the fee first, then U
            take = min(fee, shares[who])
            shares[who] -= take
            fee -= take
        shares = {k: (v if v >= DUST else 0) for k, v in shares.items()}
        after = self.balances()
        reward = p["rewarded_export"] * 100  # B's meter's production rewards (1 coin per MWh) went to B's key meanwhile
        self.assertEqual(after["consumer"], funded["consumer"] + shares["a"])
        self.assertEqual(after["producer"], funded["producer"] + shares["b"] + reward)
        stats = self.u.cli("getcoinstats")
        self.assertEqual(int(stats.get("pool", 0) or 0), pool_before + cwb, stats)
        self.assertGreater(shares["b"], 0, "B is paid for what its meter delivered")
        print(f"\npenalty: A imported {imports} Wh, B exported {exports} of {energy} Wh asked at {price}/kWh; "
              f"A {shares['a']}, B {shares['b']}, U {shares['u']}, pool +{cwb}", flush=True)

    def test_a_penalty_close_with_forged_evidence_is_refused_with_its_reason_even_signed_by_u_and_a(self):
        """wattline-forge-close signs penalty closes of a real channel with A's key (from a copy of
        A's wallet) and U's; each forged one, sent to A's node, is refused with consensus's reason
        for that forgery, and nothing of it reaches a mempool. The honest close built the same way
        is accepted, confirms, and the channel is closed on both nodes."""
        self.assertTrue(os.path.exists(FORGE), f"{FORGE} is not built")
        p = self.penalty_channel()
        cid = p["cid"]
        wallet = os.path.join(self.root, "consumer-wallet-copy.dat")
        shutil.copyfile(os.path.join(self.a.datadir, "wallet.dat"), wallet)
        readings = os.path.join(self.root, "counted-readings.jsonl")
        with open(readings, "w") as f:
            for x in p["readings"]:
                f.write(json.dumps({k: (x.get(k) if k in ("meter", "signature") else int(x.get(k) or 0))
                                    for k in ("meter", "start", "length", "import_wh", "export_wh",
                                              "import_register", "export_register", "signature")}) + "\n")
        channel_id = self.channel(self.a, cid)["channel"]
        funding_hex = self.a.cli("gettx", channel_id.split(":")[0])["raw_hex"]
        fee = max(2_000, (p["cwa"] + p["cwb"]) // 100)

        def forge(kind):
            r = subprocess.run([FORGE, "--funding-hex", funding_hex, "--channel", channel_id, "--readings", readings,
                                "--wallet", wallet, "--passphrase-file", os.path.join(self.a.datadir, "wallet.passphrase"),
                                "--fee", str(fee), "--forgery", kind], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"{kind}: {r.stderr}")
            return r.stdout.strip()

        refusals = {"other-meter": "bad-evidence-meter", "unsigned": "bad-evidence-sig",
                    "outside": "bad-evidence-interval", "omitted": "bad-evidence-uncounted",
                    "reordered": "bad-evidence-uncounted", "arithmetic": "bad-evidence-arithmetic"}
        for kind, reason in refusals.items():
            r = self.a.cli("sendrawtransaction", forge(kind), check=False)
            self.assertNotEqual(r.returncode, 0, f"{kind}: accepted")
            self.assertIn(reason, r.stderr, f"{kind}: {r.stderr}")
        for n in (self.u, self.a, self.b):
            self.assertEqual(int(n.cli("getinfo")["mempool_count"]), 0, f"{n.name}: a forgery got in")
        self.assertEqual(self.channel(self.a, cid)["onchain"], "open")

        txid = self.a.cli("sendrawtransaction", forge("none"))["txid"]
        wait_until(lambda: int(self.u.cli("getinfo")["mempool_count"]) == 1, timeout=30, what="the honest close relays")
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        self.assertGreater(int(self.u.cli("gettx", txid)["confirmations"]), 0)

    def test_a_killed_consumer_resumes_and_a_force_close_settles_the_newest_state(self):
        self.start_nodes()
        cid = self.open_channel()
        funded = self.balances()
        paid = 0
        for round_ in range(5):
            for _ in range(3):
                self.a.cli("pay", cid, 1_000)
                paid += 1_000
            # SIGKILL right after a proposal leaves the node (no wait for B's signature).
            self.a.cli("pay", cid, 1_000, "--wait-ms", 1)
            paid += 1_000
            self.a.kill9()
            self.a.start()
            wait_until(lambda: not self.channel(self.a, cid)["pending"], timeout=60,
                       what=f"round {round_}: A resumed and B signed the pending state")
            for n in (self.a, self.b):
                self.assertEqual(field(self.channel(n, cid), "cc"), paid, f"round {round_}: {n.name}")
        self.assertEqual(field(self.channel(self.b, cid), "state"), 20)
        txid = self.b.cli("forceclose", cid)["txid"]
        self.assertEqual(len(txid), 64)
        self.mine(1)
        self.assertEqual(self.channel(self.a, cid)["onchain"], "closing")
        self.assertEqual(field(self.channel(self.a, cid), "posted_state"), 20)
        self.mine(4)  # the window (3 blocks), then the settle the engines broadcast
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        after = self.balances()
        self.assertEqual(after["producer"], funded["producer"] + 300_000 + paid)
        # A pays the post's fee (2,000) and the settle's fee floor (1% of the 798,000 left).
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000 - paid - 2_000 - 7_980)

    def test_a_consumer_restored_from_an_old_backup_learns_the_newest_state_and_its_stale_post_is_superseded(self):
        """A's datadir is backed up at state 3 and A pays on to state 6. Restored with B online, A
        learns state 6 on reconnect (it must not post state 3). Restored again with B offline, A
        force-closes at state 3: the utility's tower posts state 6 within the window, A and B are
        restarted mid-window, and the settlement pays state 6 to the unit."""
        self.start_nodes()
        cid = self.open_channel(window=4)
        funded = self.balances()
        backup = self.pay_with_a_backup_between(cid, 3, 3)
        self.restore_a(backup)
        wait_until(lambda: field(self.channel(self.a, cid), "state") == 6, timeout=60,
                   what="the restored A learns state 6 from B on reconnect")
        self.assertEqual(field(self.channel(self.a, cid), "cc"), 6_000)
        self.assertEqual(int(self.u.cli("getinfo")["mempool_count"]), 0, "nobody posted anything")
        # It pays on from state 6, not 3 (pay adds to Cc).
        self.assertTrue(self.a.cli("pay", cid, 1_000).get("signed"))
        self.assertEqual(field(self.channel(self.b, cid), "state"), 7)

        # Restored again, with B offline: A knows only state 3 and posts it.
        self.b.stop()
        self.restore_a(backup)
        self.assertEqual(field(self.channel(self.a, cid), "state"), 3)
        self.a.cli("forceclose", cid)
        wait_until(lambda: int(self.u.cli("getinfo")["mempool_count"]) == 1, timeout=30, what="the stale post relays")
        self.mine(1)
        self.assertEqual(field(self.channel(self.a, cid), "posted_state"), 3)
        # The tower saw the stale post in that block and posts state 7 at once.
        wait_until(lambda: int(self.u.cli("getinfo")["mempool_count"]) == 1, timeout=30,
                   what="the tower posts the newest state")
        self.a.kill9()
        self.a.start()
        self.b.start()
        self.mine(1)
        wait_until(lambda: field(self.channel(self.a, cid), "posted_state") == 7, timeout=30,
                   what="state 7 supersedes state 3 on chain")
        wait_until(lambda: field(self.channel(self.a, cid), "state") == 7, timeout=60,
                   what="A learns state 7 (from B on reconnect)")
        self.mine(5)  # the window (4 blocks), then the settle the engines broadcast
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        after = self.balances()
        self.assertEqual(after["producer"], funded["producer"] + 300_000 + 7_000)
        # A pays both posts' fees (2,000 each) and the settle's fee floor (1% of the 796,000 left).
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000 - 7_000 - 4_000 - 7_960)

    def test_without_a_tower_the_producer_alone_supersedes_a_stale_post_after_both_restart_mid_window(self):
        """No --channeltower: the utility holds no state of the channel and cannot help. A pays to
        state 5; A's backup at state 2 is restored while B is down, and A posts state 2. B, started
        mid-window, posts state 5 by itself; A, killed and restarted mid-window too, learns it; the
        settlement pays state 5 to the unit."""
        self.start_nodes(tower=False)
        cid = self.open_channel(window=4)
        funded = self.balances()
        backup = self.pay_with_a_backup_between(cid, 2, 3)
        self.b.stop()
        self.restore_a(backup)
        self.assertEqual(field(self.channel(self.a, cid), "state"), 2)
        self.a.cli("forceclose", cid)
        wait_until(lambda: int(self.u.cli("getinfo")["mempool_count"]) == 1, timeout=30, what="the stale post relays")
        self.mine(1)
        self.assertEqual(field(self.channel(self.a, cid), "posted_state"), 2)
        # Nobody else holds state 5 while B is down: the tower has nothing to post.
        self.mine(1)
        self.assertEqual(int(self.u.cli("getinfo")["mempool_count"]), 0, "the utility has no newer state")
        self.a.kill9()
        self.b.start()  # mid-window: 2 of the window's 4 blocks are left
        wait_until(lambda: int(self.u.cli("getinfo")["mempool_count"]) == 1, timeout=60,
                   what="B posts state 5 on start")
        self.mine(1)
        self.assertEqual(field(self.channel(self.b, cid), "posted_state"), 5)
        self.a.start()
        wait_until(lambda: field(self.channel(self.a, cid), "state") == 5, timeout=60,
                   what="A learns state 5 from B on reconnect")
        self.assertEqual(field(self.channel(self.a, cid), "posted_state"), 5)
        self.mine(5)  # the window again (from the newer post), then the settle the engines broadcast
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        after = self.balances()
        self.assertEqual(after["producer"], funded["producer"] + 300_000 + 5_000)
        # A pays both posts' fees (2,000 each) and the settle's fee floor (1% of the 796,000 left).
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000 - 5_000 - 4_000 - 7_960)

    def test_a_hundred_kills_at_random_instants_of_updates_lose_no_coin(self):
        """kill -9 of A or B at random instants while A pays (before or after a persist, before
        or after a send: wherever the instant falls), 100 times; after each restart the channel
        resumes at the newest state both hold, and the final settlement pays exactly what the
        funding holds."""
        self.start_nodes()
        cid = self.open_channel()
        funded = self.balances()
        stop = threading.Event()
        attempts = [0]

        def payer():
            while not stop.is_set():
                if self.a.proc is None:
                    time.sleep(0.01)
                    continue
                attempts[0] += 1
                self.a.cli("pay", cid, 100, "--wait-ms", 200, check=False, timeout=30)

        rng = random.Random(self.rng.randrange(1 << 30))
        thread = threading.Thread(target=payer, daemon=True)
        thread.start()
        kills = 0
        deadline = time.time() + 600
        try:
            while kills < 100 and time.time() < deadline:
                time.sleep(rng.uniform(0.0, 0.3))
                victim = self.a if rng.random() < 0.5 else self.b
                victim.kill9()
                kills += 1
                victim.start()
        finally:
            stop.set()
            thread.join(timeout=60)
        self.assertEqual(kills, 100, "100 kills within the time bound")

        def resumed():
            ca, cb = self.channel(self.a, cid), self.channel(self.b, cid)
            return not ca["pending"] and field(ca, "state") == field(cb, "state")
        wait_until(resumed, timeout=120, what="A and B agree on the newest state after the last restart")
        ca, cb = self.channel(self.a, cid), self.channel(self.b, cid)
        self.assertEqual(field(ca, "cc"), field(cb, "cc"))
        cc = field(cb, "cc") or 0
        print(f"\n100 kills, {attempts[0]} pay calls, newest state {field(cb, 'state')}, Cc {cc}", flush=True)
        self.assertGreater(cc, 0)
        self.b.cli("closechannel", cid)
        wait_until(lambda: self.channel(self.a, cid)["phase"] == "closing", timeout=30, what="A signed the close")
        time.sleep(0.5)
        self.mine(1)
        for n in (self.a, self.b):
            wait_until(lambda n=n: self.channel(n, cid)["phase"] == "closed", timeout=60, what=f"{n.name}: closed")
        after = self.balances()
        fee = 8_000
        self.assertEqual(after["producer"], funded["producer"] + 300_000 + cc)
        self.assertEqual(after["consumer"], funded["consumer"] + 500_000 - cc - fee)


if __name__ == "__main__":
    import unittest
    unittest.main()
