"""The hostile-peer test (issue 5): a real regtest wattlined (the victim) with an honest peer
syncing from it is attacked by wattline-hostile-peer (tests/integration/hostile_peer.cpp):
garbage, oversize frames, bad checksums, invalid blocks, floods of unrequested data and inv
items, a low-work header chain, large orphan blocks and half-sent maximal frames.

Checked: each attacker is disconnected; the scored ones are banned (listbans) and the victim's
log names the offence; a banned address is refused at once and can connect again after
`unban`; the victim's memory (VmRSS) stays within a generous bound throughout; the honest peer
(on 127.0.0.1) is never banned, stays connected and syncs the blocks mined after the attacks.

Attackers bind their own loopback source addresses (127.0.0.10 and up; Linux routes all of
127/8 to lo), so that a ban never falls on the honest peer's 127.0.0.1. Every wait is bounded.
"""
import json
import os
import re
import subprocess
import threading
import time
import unittest

from framework import BUILD, NodeTestCase, wait_until, CliError

HOSTILE = os.environ.get("WATTLINE_HOSTILE_PEER",
                         os.path.join(BUILD, "tests", "integration", "wattline-hostile-peer"))
HEIGHT = 120
RSS_BOUND_MIB = 200  # above the victim's RSS before the attacks

# attack -> (banned, the close reason in the victim's log, more text its log shows for that peer)
ATTACKS = {
    "garbage": (True, "frame-malformed-command", None),
    "garbage-nomagic": (False, "frame-bad-magic", None),
    "oversize": (True, "frame-oversize", None),
    "bad-checksum": (False, "frame-bad-checksum", None),
    "invalid-block": (True, "block-malformed", "bad-txnmrklroot"),
    "bad-pow-block": (True, "block-invalid", "high-hash"),
    "unrequested-flood": (True, "unrequested-", None),
    "inv-flood": (True, "inv-flood", None),
    "low-work-headers": (True, "low-work-headers", None),
    "stall": (False, "block-download-stall", None),  # announces blocks, never delivers them  # forks at genesis, 120 below the tip: banned
}
REPEATS = int(os.environ.get("WATTLINE_HOSTILE_REPEATS", "3"))


def tip(node):
    info = node.cli("getinfo")
    return int(info["height"]), info["tip_hash"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's VmRSS every 0.1 s in a thread; keeps the peak."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss_kib(pid)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
                self.samples += 1
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


class HostilePeerTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.assertTrue(os.access(HOSTILE, os.X_OK), f"{HOSTILE} is not built (target wattline-hostile-peer)")
        self.next_source = 10

    def source(self):
        """A fresh loopback source address for one attacker (never 127.0.0.1)."""
        self.next_source += 1
        self.assertLess(self.next_source, 250)
        return f"127.0.0.{self.next_source}"

    def hostile(self, victim, attack, source, timeout=20, extra=(), check_json=True):
        cmd = [HOSTILE, "--port", str(victim.p2p_port), "--network", "regtest", "--attack", attack,
               "--bind", source, "--timeout", str(timeout), "--seed", str(self.rng.randrange(1 << 62))] + list(extra)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        result = json.loads(lines[-1]) if lines else None
        if check_json:
            self.assertIsNotNone(result, f"{attack}: no JSON line; exit {r.returncode}; stderr {r.stderr}")
        print(f"  {attack} from {source}: exit {r.returncode} {lines[-1] if lines else ''}")
        return r.returncode, result

    def victim_log(self, victim):
        # The console copy (--printtoconsole): debug.log is flushed only at warnings and above.
        with open(victim.log_path, errors="replace") as f:
            return f.read()

    def close_line(self, victim, source, timeout=10):
        """The victim's log line saying it closed the peer from source, and the peer's id."""
        pattern = re.compile(r"peer (\d+) \(" + re.escape(source) + r":\d+\) closed: (.*)$", re.M)
        found = []

        def seen():
            found[:] = pattern.findall(self.victim_log(victim))
            return bool(found)
        wait_until(seen, timeout=timeout, what=f"the victim's log to close the peer from {source}")
        return found[-1]

    def bans(self, victim):
        return {b["subnet"]: b for b in victim.cli("listbans").get("bans", [])}

    def is_banned(self, victim, source):
        bans = self.bans(victim)
        return source in bans or f"{source}/32" in bans

    def test_a_noban_peer_misbehaves_and_stays_connected(self):
        """--whitelist=noban@A: an attacker from A sending invalid blocks is scored and logged but
        stays connected and unbanned; the same attack from another address is banned."""
        spared, other = "127.0.0.201", "127.0.0.202"
        victim = self.make_node("victim", extra_args=["--whitelist", f"noban@{spared}"])
        victim.start()
        code, _ = self.hostile(victim, "invalid-block", spared, timeout=6, check_json=False)
        self.assertEqual(code, 1, "the noban peer was disconnected")
        self.assertFalse(self.is_banned(victim, spared))
        self.assertIn("[noban: logged, not punished]", self.victim_log(victim))
        code, _ = self.hostile(victim, "invalid-block", other, timeout=20)
        self.assertEqual(code, 0)
        wait_until(lambda: self.is_banned(victim, other), timeout=10, what="the other attacker banned")
        self.assertFalse(self.is_banned(victim, spared))

    def test_hostile_peers_are_banned_and_the_honest_peer_is_still_served(self):
        # A short stall timeout: the "stall" attacker is dropped after it, not after 15 s.
        victim = self.make_node("victim", extra_args=["--blockstalltimeout", "3"])
        # No error-level log line is expected: offences are logged at info, bans at warning.
        victim.expected_errors = []
        victim.start()
        victim.cli("generate", HEIGHT)
        honest = self.make_node("honest", extra_args=["--addnode", f"127.0.0.1:{victim.p2p_port}"])
        honest.start()
        wait_until(lambda: tip(honest) == tip(victim), timeout=120, what="the honest node syncs from the victim")

        def honest_peer_listed():
            return [p for p in victim.cli("getpeerinfo").get("peers", [])
                    if p.get("connected") and p["address"].startswith("127.0.0.1:")]
        wait_until(lambda: honest_peer_listed(), timeout=30, what="the victim lists the honest peer")
        honest_ids = {p["id"] for p in honest_peer_listed()}

        pid = victim.proc.pid
        rss_start = rss_kib(pid)
        print(f"victim pid {pid}, VmRSS before the attacks: {rss_start // 1024} MiB")
        with RssSampler(pid) as rss:
            # 1. Every attack, several times, each from its own address.
            outcomes = []
            for attack, (banned, reason, detail) in ATTACKS.items():
                for _ in range(REPEATS):
                    src = self.source()
                    code, res = self.hostile(victim, attack, src)
                    self.assertTrue(res["handshake"], f"{attack}: no handshake: {res}")
                    self.assertTrue(res["disconnected"], f"{attack}: not disconnected: {res}")
                    self.assertEqual(code, 0, f"{attack}: {res}")
                    outcomes.append((attack, src, banned, reason, detail))
            # 2. The victim's log names each offence; the scored ones are banned, the others not.
            log_checks = 0
            for attack, src, banned, reason, detail in outcomes:
                peer_id, close = self.close_line(victim, src)
                self.assertIn(reason, close, f"{attack} from {src}: closed for '{close}'")
                self.assertEqual(close.endswith("(banned)"), banned, f"{attack} from {src}: '{close}'")
                if detail:
                    lines = [l for l in self.victim_log(victim).splitlines() if f"peer {peer_id}:" in l]
                    self.assertTrue(any(detail in l for l in lines), f"{attack}: no '{detail}' for peer {peer_id}: {lines}")
                log_checks += 1
                self.assertEqual(self.is_banned(victim, src), banned, f"{attack} from {src}: listbans {self.bans(victim)}")
            print(f"{log_checks} attacks checked in the victim's log and ban list")

            # 3. A banned address is refused at accept (closed before the handshake) ...
            banned_src = next(src for _, src, banned, _, _ in outcomes if banned)
            code, res = self.hostile(victim, "bad-checksum", banned_src, timeout=10)
            self.assertEqual(code, 3, f"a banned address got through: {res}")
            self.assertFalse(res["handshake"])
            # ... and connects again once unbanned.
            victim.cli("unban", banned_src)
            self.assertFalse(self.is_banned(victim, banned_src))
            code, res = self.hostile(victim, "bad-checksum", banned_src)
            self.assertEqual(code, 0, f"unbanned address: {res}")
            self.assertTrue(res["handshake"])

            # 4. A valid block sent first with another coinbase (same hash, wrong merkle root):
            # the sender is banned, and the real block (from the next address) still goes in.
            src = self.source()
            self.next_source += 1
            code, res = self.hostile(victim, "mutated-block", src)
            self.assertEqual(code, 0, res)
            peer_id, close = self.close_line(victim, src)
            self.assertIn("block-malformed", close)
            self.assertTrue(self.is_banned(victim, src))
            self.assertTrue(res.get("real_block_accepted"), f"the real block was refused after its mutation: {res}")
            self.assertEqual(tip(victim), (HEIGHT + 1, res["real_block"]))
            mined = 1  # the real block

            # 5. Every scored attack in turn, on consecutive addresses.
            first = self.source()
            self.next_source += 8
            code, res = self.hostile(victim, "all-in-turn", first, timeout=30)
            self.assertEqual(code, 0, res)
            self.assertTrue(all(r["disconnected"] for r in res["results"]), res)

            # 6. Long floods: large orphan blocks (with valid proof of work on regtest: they are
            # kept in the bounded orphan pool, not punished) from two peers at once, and twenty
            # peers each holding all but the last byte of a maximal inv frame.
            floods, floods_results, slow_results = [], [], []
            for _ in range(2):
                src = self.source()
                floods.append(threading.Thread(target=lambda s=src: floods_results.append(
                    self.hostile(victim, "orphan-flood", s, timeout=120, extra=["--count", "120"]))))
            for _ in range(20):
                src = self.source()
                floods.append(threading.Thread(target=lambda s=src: slow_results.append(
                    self.hostile(victim, "slow-frame", s, timeout=60, extra=["--hold", "15"]))))
            for t in floods:
                t.start()
            for t in floods:
                t.join(timeout=300)
                self.assertFalse(t.is_alive(), "a flood did not end in time")
            self.assertEqual(len(floods_results), 2, "an orphan flood failed to run")
            self.assertEqual(len(slow_results), 20, "a slow-frame peer failed to run")
            for code, res in floods_results:
                self.assertTrue(res["handshake"], res)
                self.assertGreater(res["sent_bytes"], 10_000_000, res)
            for code, res in slow_results:
                self.assertTrue(res["handshake"], res)
            # A flood of unrequested data from many addresses in a row.
            for _ in range(10):
                code, res = self.hostile(victim, "unrequested-flood", self.source())
                self.assertEqual(code, 0, res)
            self.assertIsNotNone(victim.proc)
            self.assertIsNone(victim.proc.poll(), "the victim died")

        print(f"victim VmRSS: {rss_start // 1024} MiB before, peak {rss.peak // 1024} MiB "
              f"({rss.samples} samples), {rss_kib(pid) // 1024} MiB after")
        self.assertLess(rss.peak, rss_start + RSS_BOUND_MIB * 1024,
                        f"the victim's memory grew by {(rss.peak - rss_start) // 1024} MiB")

        # 7. The honest peer was never banned, is still connected and still served.
        self.assertFalse(self.is_banned(victim, "127.0.0.1"), self.bans(victim))
        still = honest_peer_listed()
        self.assertTrue(still, "the victim no longer lists the honest peer")
        self.assertTrue(honest_ids & {p["id"] for p in still}, f"the honest peer reconnected: {still}")
        self.assertTrue([p for p in honest.cli("getpeerinfo").get("peers", [])
                         if p.get("connected") and p["address"] == f"127.0.0.1:{victim.p2p_port}"],
                        "the honest node no longer lists the victim")
        victim.cli("generate", 5)
        wait_until(lambda: tip(honest) == tip(victim), timeout=60, what="the honest node syncs the new blocks")
        self.assertEqual(tip(honest)[0], HEIGHT + mined + 5)
        # Only our own addresses were ever banned.
        for subnet in self.bans(victim):
            addr = subnet.split("/")[0]
            self.assertTrue(addr.startswith("127.0.0.") and addr != "127.0.0.1", subnet)


if __name__ == "__main__":
    unittest.main()
