"""Multi-process test of the energy market (issue 10): a utility node registers 10 simulated
meters (contrib/meters, the real wattline-meters over gRPC), they submit a day of readings
(96 intervals of 15 minutes) while 3 nodes mine, and every node agrees on each owner's reward
to the unit, on the price and demand of every slot and on the supply equation — also after a
kill -9 of a node mid-day and after a reorganisation that drops the blocks holding the
readings and replays them.

Every wait is bounded; the nodes' logs are printed when a test fails.
"""
import os
import subprocess
import threading
import time

from framework import BUILD, NodeTestCase, wait_until, CliError, free_port

METERS = os.environ.get("WATTLINE_METERS", os.path.join(BUILD, "contrib", "meters", "wattline-meters"))
MATURITY = 100        # regtest coinbase maturity
INTERVAL = 900        # seconds per reading
DAY = 96              # intervals of 15 minutes in a day
N_METERS = 10
UNITS_PER_WH = 100    # 1 coin (10^8 units) per MWh


def tip(node):
    info = node.cli("getinfo")
    return int(info["height"]), info["tip_hash"]


def as_int(x):
    return int(x) if x is not None else 0


class Miners:
    """The 3 miners, each mining a block in turn until stopped (bounded in time): real
    concurrent mining with relay between the turns, so short forks happen and resolve."""

    def __init__(self, nodes, pause=0.3, limit_s=900):
        self.nodes = list(nodes)
        self.pause = pause
        self.limit_s = limit_s
        self.stop_flag = threading.Event()
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        deadline = time.time() + self.limit_s
        i = 0
        while not self.stop_flag.is_set() and time.time() < deadline:
            node = self.nodes[i % len(self.nodes)]
            i += 1
            if node.proc is None:  # killed or being restarted
                continue
            try:
                node.cli("generate", 1, timeout=60)
            except (CliError, subprocess.TimeoutExpired) as e:
                # Exit 3 is "cannot connect": a node restarted after kill -9 whose API is not up yet.
                starting = isinstance(e, CliError) and e.returncode == 3
                if node.proc is not None and not starting:
                    self.errors.append(f"{node.name}: {e}")
            self.stop_flag.wait(self.pause)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=120)


class MarketTest(NodeTestCase):
    def connects(self, *targets):
        args = []
        for t in targets:
            args += ["--connect", f"127.0.0.1:{t.p2p_port}"]
        return args

    def wait_same_tip(self, nodes, timeout=120):
        def same():
            return len({tip(n) for n in nodes}) == 1
        wait_until(same, timeout=timeout, what="every node on the same tip: " +
                   ", ".join(f"{n.name}={tip(n)[0]}" for n in nodes))
        return tip(nodes[0])

    def run_meters(self, utility, *extra, timeout=600):
        cmd = [METERS, "--network", "regtest", "--datadir", utility.datadir, "--meters", str(N_METERS),
               "--seed", "7", "--interval", str(INTERVAL), "--start", str(self.day_start), "--speed", "0"] + \
              [str(e) for e in extra]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        self.assertEqual(r.returncode, 0, f"wattline-meters {' '.join(map(str, extra))} exited {r.returncode}:\n"
                         f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r.stdout

    def meters(self, node):
        return node.cli("listmeters", role="utility").get("meters", [])

    def counted_intervals(self, node):
        return sum(as_int(m.get("readings")) for m in self.meters(node))

    def market_view(self, node, slots):
        """What must be identical on every node: rewards per owner, every slot's price and demand,
        and the supply counters."""
        owners = sorted({m["owner"] for m in self.meters(node)})
        rewards = {o: as_int(node.cli("getrewards", o, role="wallet").get("total")) for o in owners}
        schedule = node.cli("getschedule", "--from", 0, "--count", slots, role="wallet").get("slots", [])
        prices = [(as_int(s.get("slot")), as_int(s.get("price")), as_int(s.get("demand_wh", s.get("demandWh"))))
                  for s in schedule]
        stats = node.cli("getcoinstats")
        supply = {k: as_int(stats.get(k)) for k in ("height", "total_amount", "total_subsidy", "total_grants",
                                                     "total_rewards", "unclaimed")}
        return rewards, prices, supply

    def assert_supply_equation(self, supply, name):
        self.assertEqual(supply["total_amount"],
                         supply["total_subsidy"] + supply["total_grants"] + supply["total_rewards"] -
                         supply["unclaimed"], f"{name}: {supply}")

    def assert_all_agree(self, nodes):
        height, _ = self.wait_same_tip(nodes)
        info = nodes[0].cli("getmarketinfo", role="wallet")
        slots = as_int(info.get("slot")) + 1
        views = {n.name: self.market_view(n, slots) for n in nodes}
        first = views[nodes[0].name]
        for name, view in views.items():
            self.assertEqual(view[0], first[0], f"rewards differ: {nodes[0].name} vs {name}")
            self.assertEqual(view[1], first[1], f"slot prices/demand differ: {nodes[0].name} vs {name}")
            self.assertEqual(view[2], first[2], f"supply differs: {nodes[0].name} vs {name}")
            self.assert_supply_equation(view[2], name)
        return first

    def isolate(self, node):
        """Restarts node connected to nothing (its --connect names a port nobody listens on)."""
        node.stop()
        node.extra_args = ["--connect", f"127.0.0.1:{free_port()}"]
        node.start()

    def test_a_day_of_readings_while_three_nodes_mine(self):
        self.assertTrue(os.path.exists(METERS), f"{METERS} is not built")
        # A whole day that ended at least one interval ago, on the interval grid.
        now = int(time.time())
        self.day_start = (now // INTERVAL) * INTERVAL - (DAY + 1) * INTERVAL

        utility = self.make_node("utility", extra_args=["--utility", "1"]).start()
        miner1 = self.make_node("miner1", extra_args=self.connects(utility)).start()
        miner2 = self.make_node("miner2", extra_args=self.connects(utility, miner1)).start()
        miner3 = self.make_node("miner3", extra_args=self.connects(utility, miner1, miner2)).start()
        nodes = [utility, miner1, miner2, miner3]
        # The utility pays the registrations' fees: it mines past coinbase maturity first.
        utility.cli("generate", MATURITY + 5)
        self.wait_same_tip(nodes)

        # Morning: the meters are registered and the first half of the day is read while the
        # three miners mine.
        with Miners([miner1, miner2, miner3]) as mining:
            self.run_meters(utility, "--intervals", DAY // 2)
            wait_until(lambda: self.counted_intervals(utility) == N_METERS * DAY // 2, timeout=180,
                       what="the first half-day of readings is mined")
        self.assertEqual(mining.errors, [])
        miner1.cli("generate", 1)  # breaks a tie the last turns may have left
        meters = self.meters(utility)
        self.assertEqual(len(meters), N_METERS)
        self.assertTrue(all(m.get("registered") for m in meters))
        self.assertEqual({m["role"] for m in meters},
                         {"METER_ROLE_PRODUCER", "METER_ROLE_CONSUMER", "METER_ROLE_PROSUMER"})
        self.assert_all_agree(nodes)

        # Afternoon: miner3 is cut off and mines alone; the others count the rest of the day, and
        # miner2 is killed (kill -9) and restarted while the readings come in.
        self.isolate(miner3)
        main_side = [utility, miner1, miner2]
        with Miners([miner1, miner2]) as mining:
            meters_run = subprocess.Popen(
                [METERS, "--network", "regtest", "--datadir", utility.datadir, "--meters", str(N_METERS),
                 "--seed", "7", "--interval", str(INTERVAL), "--start", str(self.day_start), "--speed", "0",
                 "--intervals", str(DAY)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wait_until(lambda: self.counted_intervals(utility) > N_METERS * DAY * 5 // 8, timeout=180,
                       what="the afternoon's readings start to be mined")
            miner2.kill9()
            miner2.start()
            out, _ = meters_run.communicate(timeout=600)
            self.assertEqual(meters_run.returncode, 0, out[-3000:])
            wait_until(lambda: self.counted_intervals(utility) == N_METERS * DAY, timeout=180,
                       what="the whole day of readings is mined")
        self.assertEqual(mining.errors, [])
        miner1.cli("generate", 1)
        rewards, prices, supply = self.assert_all_agree(main_side)

        # Independent of the node's own accounting: every exported Wh earns 100 units, once.
        meters = self.meters(utility)
        exported = {}
        for m in meters:
            exported[m["owner"]] = exported.get(m["owner"], 0) + as_int(m.get("exported_wh"))
        self.assertGreater(sum(exported.values()), 0)
        for owner, wh in exported.items():
            self.assertEqual(rewards[owner], wh * UNITS_PER_WH, owner)
        self.assertEqual(supply["total_rewards"], sum(exported.values()) * UNITS_PER_WH)
        self.assertEqual(sum(rewards.values()), supply["total_rewards"])
        self.assertGreater(len(prices), 1)
        print(f"day: {len(meters)} meters, {sum(exported.values())} Wh exported, "
              f"{supply['total_rewards']} units rewarded, {len(prices)} slots, height {supply['height']}")

        # Evening: miner3's chain, which holds none of the afternoon's readings, gets more work;
        # healed, every node reorganises onto it, the afternoon's blocks are dropped, their
        # readings return to the mempools and are mined again: the same rewards to the unit.
        h_main, _ = tip(utility)
        h3, _ = tip(miner3)
        miner3.cli("generate", max(0, h_main - h3) + 5, timeout=300)
        fork_height, fork_tip = tip(miner3)
        miner3.stop()
        miner3.extra_args = self.connects(utility, miner1, miner2)
        miner3.start()
        wait_until(lambda: tip(utility)[0] >= fork_height, timeout=120, what="the utility reorganises")
        self.assertEqual(tip(utility)[0], fork_height)
        self.assertLess(self.counted_intervals(utility), N_METERS * DAY, "the reorg dropped no readings")
        with Miners([miner1, miner2, miner3]) as mining:
            wait_until(lambda: self.counted_intervals(utility) == N_METERS * DAY, timeout=240,
                       what="the dropped readings are mined again")
        self.assertEqual(mining.errors, [])
        miner1.cli("generate", 1)
        after = self.assert_all_agree(nodes)
        self.assertEqual(after[0], rewards, "rewards after the reorg differ from before")
        self.assertEqual(after[2]["total_rewards"], supply["total_rewards"])
        # Every reading is counted once: 96 per meter, none twice.
        for m in self.meters(miner3):
            self.assertEqual(as_int(m.get("readings")), DAY, m["meter"])
        # A restarted node (clean stop) and a killed one come back with the same view.
        miner1.kill9()
        miner1.start()
        self.assertEqual(self.assert_all_agree(nodes), after)
