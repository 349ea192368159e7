#!/usr/bin/env python3
"""Channels on the six-node testnet: two channels between prosumers, a day of simulated meters,
one cooperative close and one penalty close, with the balances before and after.

  contrib/testnet/channel-demo.py [--root DIR] [--base-port P]    the local testnet (testnet.sh)
  contrib/testnet/channel-demo.py --docker [--compose FILE]       the docker compose testnet

What it does, on a running testnet (see docs/testnet.md, "Channels"):
  1. miner1 pays 1 coin to each prosumer and to the utility (which pays the registration fees);
  2. the utility registers four simulated meters (wattline-meters --seed S; a meter's role is its
     index mod 3), each owned by a prosumer's channel key, and sets the price to a + b*D + c*D^2
     with (a, b, c) = (1, 1, 100000) from the next slot, so that amounts are worth reading;
  3. at the start of a slot, prosumer1 opens a channel to prosumer2 for yesterday's 09:00-15:00
     UTC (prosumer2's panels deliver), and prosumer3 opens one to prosumer1 for yesterday's
     18:00-24:00 UTC (prosumer1's meter is a producer's: no sun after 18:00, it delivers nothing);
  4. wattline-meters submits yesterday's 96 readings of each meter (--no-register, as fast as the
     node takes them); the chain counts them, and each A's node pays as metered;
  5. prosumer1 closes its channel cooperatively at the newest state; prosumer3 asks the utility
     for the penalty close (EvidenceClose): the utility rebuilds it from the counted readings,
     co-signs it and broadcasts it, and prosumer1's collateral goes to the incentive pool.
It checks every step, prints the balances of the three prosumers before, after funding and after
the closes, and exits 0 when every number is the one the readings and the channels' terms give;
1 on a refusal or a wrong number; 2 on bad arguments; 3 when a node cannot be reached.
"""
import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UNITS_PER_COIN = 100_000_000
DUST = 546  # consensus/channel.h kChannelDust: shares below it go to the fee
DOCKER_SUBNET = "172.28.0."  # docker/compose.yaml: node i is 172.28.0.(10 + i)
DAY = 86_400
INTERVAL = 900


class DemoError(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def load_topology(path):
    topo = {"network": "devnet", "base_port": 40000, "nodes": []}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if fields[0] == "network":
                topo["network"] = fields[1]
            elif fields[0] == "base_port":
                topo["base_port"] = int(fields[1])
            elif fields[0] == "node":
                topo["nodes"].append({"name": fields[1], "role": fields[2]})
    return topo


def energy_cost(wh, price):
    """consensus: what `wh` costs at `price` units per kWh, rounded up."""
    return (wh * price + 999) // 1000


def num(d, name):
    v = d.get(name, 0)
    return int(v) if v not in (None, "") else 0


class Testnet:
    """wattline-cli and wattline-meters against the testnet's nodes, local or in docker."""

    def __init__(self, args):
        self.topo = load_topology(os.path.join(HERE, "topology.conf"))
        self.network = args.network or self.topo["network"]
        self.docker = args.docker
        self.compose = args.compose
        self.names = [n["name"] for n in self.topo["nodes"]]
        build = os.environ.get("WATTLINE_BUILD_DIR", os.path.join(REPO, "build", "release"))
        self.cli_bin = os.path.join(build, "cli", "wattline-cli")
        self.meters_bin = os.path.join(build, "contrib", "meters", "wattline-meters")
        self.root = args.root or os.environ.get("WATTLINE_TESTNET_ROOT") or os.path.expanduser("~/.wattline/testnet-local")
        base = args.base_port or os.environ.get("WATTLINE_TESTNET_BASE_PORT") or self.topo["base_port"]
        self.base = int(base)
        if not self.docker:
            for b in (self.cli_bin, self.meters_bin):
                if not os.access(b, os.X_OK):
                    raise DemoError(f"{b} is not built (cmake --build --preset release)", 3)

    def p2p_address(self, name):
        i = self.names.index(name)
        if self.docker:
            return f"{DOCKER_SUBNET}{10 + i}:{self.topo['base_port'] + 2 * i}"
        return f"127.0.0.1:{self.base + 2 * i}"

    def _exec(self, name, argv):
        if self.docker:
            return ["docker", "compose", "-f", self.compose, "exec", "-T", name] + argv
        return argv

    def cli(self, name, *args, role=None, check=True, timeout=60):
        if self.docker:
            argv = ["wattline-cli", "--network", self.network, "--datadir", "/data"]
        else:
            argv = [self.cli_bin, "--network", self.network, "--datadir", os.path.join(self.root, name)]
        argv += ["--timeout", "20", "--json"] + (["--role", role] if role else []) + [str(a) for a in args]
        r = subprocess.run(self._exec(name, argv), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            if not check:
                return None, r.stderr.strip() or r.stdout.strip()
            code = 3 if r.returncode == 3 else 1
            raise DemoError(f"{name}: wattline-cli {' '.join(map(str, args))}: {r.stderr.strip() or r.stdout.strip()}", code)
        out = r.stdout.strip()
        value = json.loads(out) if out and len(out.splitlines()) == 1 else [json.loads(l) for l in out.splitlines()]
        return (value, "") if not check else value

    def why(self, name, cid):
        """What the node logged about a channel (the peer's refusal), local testnet only."""
        if self.docker:
            return f" (docker compose -f {self.compose} logs {name} | grep 'channel {cid[:16]}')"
        try:
            with open(os.path.join(self.root, name, "debug.log"), errors="replace") as f:
                lines = [l.strip() for l in f if f"channel {cid[:16]}" in l]
        except OSError:
            return ""
        return f": {lines[-1]}" if lines else ""

    def meters(self, *args, timeout=600):
        if self.docker:
            argv = ["wattline-meters", "--network", self.network, "--datadir", "/data"]
        else:
            argv = [self.meters_bin, "--network", self.network, "--datadir", os.path.join(self.root, "utility")]
        argv += [str(a) for a in args]
        r = subprocess.run(self._exec("utility", argv), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise DemoError(f"wattline-meters {' '.join(map(str, args))} exited {r.returncode}:\n"
                            f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
        return r.stdout


class Demo:
    def __init__(self, net, args):
        self.net = net
        self.args = args
        self.deadline = time.monotonic() + args.timeout
        self.seed = args.seed if args.seed is not None else random.randrange(1000, 1 << 30)
        self.prosumers = [n["name"] for n in net.topo["nodes"] if n["role"] == "prosumer"]
        self.miner = next(n["name"] for n in net.topo["nodes"] if n["role"] == "miner")
        if len(self.prosumers) < 3:
            raise DemoError("the topology needs three prosumers", 2)

    def say(self, text):
        print(text, flush=True)

    def wait(self, what, pred, interval=1.0):
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > self.deadline:
                raise DemoError(f"timed out (--timeout {self.args.timeout} s) waiting for {what}")
            time.sleep(interval)

    def height(self, name="utility"):
        return int(self.net.cli(name, "getinfo")["height"])

    def balances(self):
        return {p: int(self.net.cli(p, "getbalance")["confirmed"]) for p in self.prosumers}

    def channel(self, name, cid):
        return self.net.cli(name, "getchannel", cid)

    def mined_everywhere(self):
        """Every node is at least at the utility's height (the block carrying a change reached all)."""
        h = self.height()
        self.wait(f"every node at height {h}", lambda: all(self.height(n) >= h for n in self.net.names), 0.5)

    def print_balances(self, title, now, base=None):
        self.say(f"\n{title}")
        for p in self.prosumers:
            delta = "" if base is None else f"  ({now[p] - base[p]:+,})"
            self.say(f"  {p:<10} {now[p]:>15,} units{delta}")

    # --- steps ---------------------------------------------------------------------------------
    def fund(self):
        net = self.net
        self.wait("every node reachable", lambda: all(net.cli(n, "getinfo", check=False)[0] for n in net.names))
        targets = self.prosumers + ["utility"]
        start = {n: int(net.cli(n, "getbalance")["confirmed"]) for n in targets}
        self.say(f"funding: {self.miner} pays 1 coin to each of {', '.join(targets)}, in two coins of 0.5")
        # Two coins each: prosumer1 funds two channels in the same block (A of one, B of the
        # other), and a coin a funding spends is reserved until that funding confirms.
        for n in [t for t in targets for _ in range(2)]:
            addr = net.cli(n, "getnewaddress")["address"]

            def send():
                out, err = net.cli(self.miner, "sendtoaddress", addr, "0.5", check=False)
                if out is None and "insufficient funds" not in err:
                    raise DemoError(f"{self.miner}: sendtoaddress: {err}")
                return out
            self.wait(f"{self.miner}'s coinbases to mature", send, 3.0)
        self.wait("the payments to confirm",
                  lambda: all(int(net.cli(n, "getbalance")["confirmed"]) >= start[n] + UNITS_PER_COIN for n in targets))

    def register_meters(self):
        net = self.net
        listed = [json.loads(l) for l in net.meters("--meters", 5, "--seed", self.seed, "--list", "--json").splitlines()
                  if l.strip()]
        roles = [m["role"] for m in listed]
        if roles[:5] != ["producer", "consumer", "prosumer", "producer", "consumer"]:
            raise DemoError(f"wattline-meters gives roles {roles}, not by index mod 3")
        p1, p2, p3 = self.prosumers
        key = {p: net.cli(p, "getchannelkey")["key"] for p in self.prosumers}
        # meter 0: prosumer2's panels; 1: prosumer1's load; 3: prosumer1's panels; 4: prosumer3's load.
        self.meter = {"m0": (listed[0]["meter"], p2, "producer"), "m1": (listed[1]["meter"], p1, "consumer"),
                      "m3": (listed[3]["meter"], p1, "producer"), "m4": (listed[4]["meter"], p3, "consumer")}
        self.say(f"meters: wattline-meters --seed {self.seed}; the utility registers four of them")
        for label, (meter, owner, role) in self.meter.items():
            txid = net.cli("utility", "registermeter", meter, key[owner], role, role="utility")["txid"]
            self.say(f"  {label} {meter[:16]}… {role:<9} owned by {owner} (txid {txid[:16]}…)")
        info = net.cli("utility", "getmarketinfo", role="wallet")
        if (num(info, "a"), num(info, "b"), num(info, "c")) != (1, 1, 100_000):
            net.cli("utility", "setcoefficients", 1, 1, 100_000, role="utility")
        self.wait("the registrations to be mined",
                  lambda: all(self.listed(meter).get("registered") for meter, _, _ in self.meter.values()), 1.0)
        self.key = key

    def listed(self, meter):
        """The meter as the chain holds it (ListMeters), or {}."""
        for m in self.net.cli("utility", "listmeters", role="utility").get("meters", []):
            if m.get("meter") == meter:
                return m
        return {}

    def open_channels(self):
        net = self.net
        p1, p2, p3 = self.prosumers
        info = net.cli("utility", "getmarketinfo", role="wallet")
        slot_blocks = num(info, "slot_blocks") or 12
        # Open right after a slot starts: a funding must confirm within the slot it was proposed in.
        self.wait("the price coefficients in force", lambda: not net.cli("utility", "getmarketinfo", role="wallet")
                  .get("coefficients_pending"), 1.0)
        self.wait("the start of a slot", lambda: (self.height() + 1) % slot_blocks in (1, 2), 0.25)
        self.mined_everywhere()
        yesterday = (int(time.time()) // DAY - 1) * DAY
        self.day = yesterday
        price = int(net.cli(p1, "getprice")["price"])
        cwa, cwb = 2_000_000, 1_000_000
        energy = max(1, cwa * 1000 // max(price, 1))  # as much as CwA pays for
        self.terms = {}
        specs = [("coop", p1, p2, "m0", "m1", yesterday + 9 * 3600, yesterday + 15 * 3600),
                 ("penalty", p3, p1, "m3", "m4", yesterday + 18 * 3600, yesterday + 24 * 3600)]
        for label, a, b, pm, cm, start, end in specs:
            cid = net.cli(a, "openchannel", net.p2p_address(b), self.key[b], self.meter[pm][0], self.meter[cm][0],
                          energy, cwb, "--cwa", cwa, "--window", 6, "--delivery-start", start,
                          "--delivery-end", end)["id"]
            self.terms[label] = {"id": cid, "a": a, "b": b, "pm": pm, "cm": cm, "start": start, "end": end,
                                 "cwa": cwa, "cwb": cwb, "energy": energy}
            self.say(f"channel {label}: {a} (A) -> {b} (B), {energy:,} Wh asked, CwA {cwa:,}, CwB {cwb:,}, "
                     f"delivery {time.strftime('%Y-%m-%d %H:%M', time.gmtime(start))} .. "
                     f"{time.strftime('%H:%M', time.gmtime(end - 1) )} UTC; id {cid[:16]}…")
        for label, t in self.terms.items():
            for n in (t["a"], t["b"]):
                def is_open(n=n, t=t):
                    ch = self.channel(n, t["id"])
                    if ch.get("phase") == "failed":
                        raise DemoError(f"channel {label} failed on {n}{self.net.why(n, t['id'])}")
                    return ch.get("phase") == "open"
                self.wait(f"channel {label} open on {n}", is_open, 1.0)
            t["price"] = num(self.channel(t["a"], t["id"]), "price")
        self.say(f"both channels open at {self.terms['coop']['price']:,} units per kWh")

    def run_meters(self):
        self.say(f"meters: yesterday's 96 readings of each meter, from "
                 f"{time.strftime('%Y-%m-%d', time.gmtime(self.day))} 00:00 UTC")
        out = self.net.meters("--meters", 5, "--seed", self.seed, "--start", self.day, "--intervals", DAY // INTERVAL,
                              "--interval", INTERVAL, "--speed", 0, "--no-register", "--quiet")
        for line in out.strip().splitlines()[-2:]:
            self.say(f"  {line}")

        def counted(label):
            meter = self.meter[label][0]
            rs = self.net.cli("utility", "listreadings", meter, "--from", self.day).get("readings", [])
            return [x["reading"] for x in rs if self.day <= int(x["reading"]["start"]) < self.day + DAY]
        self.wait("every reading counted on chain", lambda: all(len(counted(m)) == DAY // INTERVAL for m in self.meter), 2.0)
        self.mined_everywhere()
        self.day_exports = {m: sum(num(r, "export_wh") for r in counted(m)) for m in self.meter}
        for t in self.terms.values():
            in_window = lambda rs, t=t: [r for r in rs if t["start"] <= int(r["start"]) < t["end"]]
            t["imports"] = sum(num(r, "import_wh") for r in in_window(counted(t["cm"])))
            t["exports"] = sum(num(r, "export_wh") for r in in_window(counted(t["pm"])))
            self.say(f"  channel {'coop' if t is self.terms['coop'] else 'penalty'}: A's meter imported "
                     f"{t['imports']:,} Wh, B's meter exported {t['exports']:,} Wh in the delivery interval")

    def settle(self):
        net = self.net
        coop, pen = self.terms["coop"], self.terms["penalty"]
        # Pay as metered: Cc follows what A's meter received (up to the energy asked) at the price.
        want = energy_cost(min(coop["imports"], coop["energy"]), coop["price"])
        self.wait(f"A's node to pay as metered (Cc = {want:,})",
                  lambda: num(self.channel(coop["a"], coop["id"]), "cc") == want and
                  not self.channel(coop["a"], coop["id"]).get("pending"), 1.0)
        self.wait("B to hold the same state", lambda: num(self.channel(coop["b"], coop["id"]), "cc") == want, 1.0)
        state = num(self.channel(coop["a"], coop["id"]), "state")
        self.say(f"\nchannel coop: pay as metered reached state {state}, Cc = {want:,} units; "
                 f"{coop['a']} closes it cooperatively")
        coop["cc"] = want
        market = net.cli("utility", "getmarketinfo", role="wallet")
        self.pool_was_empty = num(market, "pool") == 0 and num(market, "pool_paying") == 0
        net.cli(coop["a"], "closechannel", coop["id"])
        if pen["exports"] >= min(pen["imports"], pen["energy"]):
            raise DemoError("the penalty channel's producer delivered what was asked: no penalty to show")
        res = net.cli(pen["a"], "evidenceclose", pen["id"], "--wait-ms", 30_000)
        if res.get("path") != "penalty":
            raise DemoError(f"evidenceclose: {res}")
        self.say(f"channel penalty: {pen['b']}'s meter delivered {pen['exports']:,} of {min(pen['imports'], pen['energy']):,} Wh; "
                 f"{pen['a']} asks the utility, which co-signs the penalty close (txid {res.get('txid', '')[:16]}…)")
        for t in (coop, pen):
            for n in (t["a"], t["b"]):
                self.wait(f"channel {t['id'][:16]}… closed on {n}",
                          lambda n=n, t=t: self.channel(n, t["id"]).get("phase") == "closed", 1.0)
        self.mined_everywhere()
        self.penalty_txid = res.get("txid", "")

    def verify(self, funded, after):
        """The balances moved by exactly what the channels' terms and the counted readings give."""
        info = self.net.cli("utility", "getmarketinfo", role="wallet")
        rate, x = num(info, "reward_units_per_mwh"), num(info, "settlement_fee_percent")
        coop, pen = self.terms["coop"], self.terms["penalty"]

        def fee(t):  # the close's fee: the node's default (2,000) or the fee floor, x% of what settles
            return max(2_000, (t["cwa"] + t["cwb"]) * x // 100) if self.pool_was_empty else 2_000

        def rewards(label):  # a producer meter's rewards for the day, to its owner
            want = self.day_exports[label] * rate // 1_000_000
            got = num(self.listed(self.meter[label][0]), "rewarded")
            if got != want:
                raise DemoError(f"meter {label}: the chain rewarded {got:,} units, not {want:,} for "
                                f"{self.day_exports[label]:,} Wh at {rate:,} per MWh")
            return got
        # The penalty split consensus computes from the evidence (docs/channels.md, "Penalty").
        received = min(pen["imports"], pen["energy"])
        delivered = min(pen["exports"], received)
        paid, to_b = energy_cost(received, pen["price"]), energy_cost(delivered, pen["price"])
        shares = {"a": pen["cwa"] - paid, "b": to_b, "u": paid - to_b}
        left = fee(pen)
        for who in ("a", "u"):  # A pays the fee first, then U
            take = min(left, shares[who])
            shares[who] -= take
            left -= take
        shares = {k: (v if v >= DUST else 0) for k, v in shares.items()}
        p1, p2, p3 = self.prosumers
        want = {
            p1: coop["cwa"] - coop["cc"] - fee(coop) + shares["b"] + rewards("m3"),
            p2: coop["cwb"] + coop["cc"] + rewards("m0"),
            p3: shares["a"],
        }
        self.say("\nexpected from the terms and the readings:")
        self.say(f"  {p1}: coop A gets CwA - Cc - fee = {coop['cwa'] - coop['cc'] - fee(coop):,}; penalty B gets "
                 f"{shares['b']:,}; production rewards of m3 {rewards('m3'):,}")
        self.say(f"  {p2}: coop B gets CwB + Cc = {coop['cwb'] + coop['cc']:,}; production rewards of m0 {rewards('m0'):,}")
        self.say(f"  {p3}: penalty A gets CwA - paid - fee = {shares['a']:,} (paid {paid:,} for {received:,} Wh "
                 f"the grid supplied; U keeps {shares['u']:,}); B's collateral {pen['cwb']:,} goes to the pool")
        wrong = [f"{p}: {after[p] - funded[p]:+,}, not {want[p]:+,}" for p in self.prosumers
                 if after[p] - funded[p] != want[p]]
        if wrong:
            raise DemoError("balances differ from the terms: " + "; ".join(wrong))
        self.say("every balance is the one the terms and the counted readings give")

    def check_pool(self):
        """B's collateral went to the incentive pool in the close's block, and the next slot's
        blocks pay it out in equal shares (the remainder in the slot's last block)."""
        net, pen = self.net, self.terms["penalty"]
        close_height = int(net.cli("utility", "gettx", self.penalty_txid)["height"])
        info = net.cli("utility", "getmarketinfo", role="wallet")
        height, blocks, pool = num(info, "height"), num(info, "slot_blocks"), num(info, "pool")
        added = pen["cwb"]
        slot = close_height // blocks
        if not self.pool_was_empty:
            self.say(f"\nincentive pool: {pool:,} at height {height} (it held coins before the demo: not checked)")
            return {"close_height": close_height, "added": added, "height": height, "pool": pool, "checked": False}
        if height // blocks == slot:
            want = added
        elif height // blocks == slot + 1:
            paid = (height - (slot + 1) * blocks + 1) * (added // blocks)
            want = added - paid if height % blocks != blocks - 1 else 0
        else:
            want = 0
        self.say(f"\nincentive pool: +{added:,} ({pen['b']}'s collateral) in the penalty close's block {close_height}; "
                 f"slot {slot + 1}'s {blocks} blocks pay it to their miners, {added // blocks:,} each "
                 f"(the remainder in the last); at height {height} it holds {pool:,}")
        if pool != want:
            raise DemoError(f"the pool holds {pool:,} at height {height}, not {want:,}")
        return {"close_height": close_height, "added": added, "height": height, "pool": pool, "checked": True}

    def run(self):
        self.say(f"channel demo on the {'docker' if self.net.docker else 'local'} testnet ({self.net.network}), seed {self.seed}")
        self.fund()
        start = self.balances()
        self.print_balances("balances before the channels:", start)
        self.register_meters()
        self.open_channels()
        self.mined_everywhere()
        funded = self.balances()
        self.print_balances("balances after funding (A puts in CwA and the funding fee, B its collateral CwB):",
                            funded, start)
        self.run_meters()
        self.settle()
        after = self.balances()
        self.print_balances("balances after the closes (channel payouts, and each owner's production rewards):",
                            after, funded)
        self.verify(funded, after)
        pool = self.check_pool()
        summary = {"seed": self.seed, "start": start, "funded": funded, "after": after, "pool": pool,
                   "channels": self.terms}
        if self.args.json:
            print(json.dumps(summary), flush=True)
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--root", help="the local testnet's root (default: $WATTLINE_TESTNET_ROOT or ~/.wattline/testnet-local)")
    p.add_argument("--base-port", type=int, help="the local testnet's base port (default: as testnet.sh)")
    p.add_argument("--network", help="default: topology.conf's")
    p.add_argument("--docker", action="store_true", help="the docker compose testnet (docker compose exec)")
    p.add_argument("--compose", default=os.path.join(REPO, "docker", "compose.yaml"))
    p.add_argument("--seed", type=int, help="wattline-meters seed of the demo's meters (default: random)")
    p.add_argument("--timeout", type=int, default=900, help="seconds for the whole demo (default 900)")
    p.add_argument("--json", action="store_true", help="also print a JSON summary as the last line")
    try:
        args = p.parse_args()
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        return Demo(Testnet(args), args).run()
    except DemoError as e:
        print(f"channel-demo: {e}", file=sys.stderr, flush=True)
        return e.code
    except subprocess.TimeoutExpired as e:
        print(f"channel-demo: {shlex.join(map(str, e.cmd))} did not answer in {e.timeout} s", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
