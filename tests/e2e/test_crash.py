"""Crash consistency: thousands of valid and invalid notifications
at rkresult through lighttpd from several client threads, while another
thread SIGKILLs running rkresult processes at random moments and the web
server itself is killed with SIGKILL once and started again on its port.

Afterwards: the store passes PRAGMA integrity_check; every notification
answered OK<InvId> left its payment paid; no payment was credited twice
(one 'credited' journal row and one history row into status 4, payment.show
<credits> 1); payments that only ever got invalid notifications are
untouched; and every payment whose valid notification never got OK is
accepted when Robokassa retries, then credited once.

Only processes this test started are killed: rkresult processes are found
in /proc by their executable (this build's rkresult) AND their parent (the
lighttpd we started), and signalled through a pidfd so a recycled pid can
never be hit.
"""

import collections
import concurrent.futures
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import rkwire  # noqa: E402
from rkcase import BIN_DIR, FORM_TYPE, RkCase, digest, rkharness  # noqa: E402

# Under the sanitizers every rkresult start costs ~100 ms (the run is CPU
# bound on 2 cores): a quarter of the load still gives ~140 kills at every
# stage of a request, which is what ASan/UBSan are here to watch; the
# Release run keeps the full count for the exactly-once statistics.
PAYMENTS = 60 if os.environ.get("PMROBOKASSA_SANITIZED") == "1" else 250
CLIENT_THREADS = 8
HTTP_TIMEOUT = 20.0
SEED = int(os.environ.get("RK_CRASH_SEED", "0")) or random.randrange(1, 1 << 30)


def parent_and_start(pid):
    """(parent pid, start time in clock ticks) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # pid (comm) state ppid ... starttime: comm may hold spaces, so split after ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[1]), int(fields[19])


class Killer(threading.Thread):
    """SIGKILLs this build's rkresult processes whose parent is our lighttpd:
    each one seen is doomed with probability `share`, at a random moment of
    its first `window` seconds (start-up, mid-transaction, after the commit)."""

    def __init__(self, executable, rng, share=0.25, window=0.015):
        super().__init__(daemon=True)
        self.executable = os.path.realpath(executable)
        self.rng = rng
        self.share = share
        self.window = window
        self.lighttpd_pid = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.killed = 0
        self.seen = set()  # (pid, start time): a process, even if its pid is reused
        self.due = []  # (when, pid, start time)

    def set_server(self, pid):
        with self.lock:
            self.lighttpd_pid = pid

    def identity(self, pid, server):
        """(pid, start time) when pid is our rkresult under `server`, else None."""
        try:
            if os.readlink(f"/proc/{pid}/exe") != self.executable:
                return None
            parent, start = parent_and_start(pid)
            return (pid, start) if parent == server else None
        except (OSError, ValueError, IndexError):
            return None

    def kill(self, pid, start, server):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return
        try:
            # Checked again after the pidfd pins the process: the one we
            # signal is the one we chose, even if `pid` was recycled.
            if self.identity(pid, server) == (pid, start):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                self.killed += 1
        except ProcessLookupError:
            pass
        finally:
            os.close(fd)

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                server = self.lighttpd_pid
            now = time.monotonic()
            if server is not None:
                for name in os.listdir("/proc"):
                    if not name.isdigit():
                        continue
                    found = self.identity(int(name), server)
                    if found is None or found in self.seen:
                        continue
                    self.seen.add(found)
                    if self.rng.random() < self.share:
                        self.due.append((now + self.rng.random() * self.window, *found))
                for entry in [d for d in self.due if d[0] <= now]:
                    self.due.remove(entry)
                    self.kill(entry[1], entry[2], server)
            time.sleep(0.001)


class CrashConsistency(RkCase):
    # A generous lock timeout: the point here is kills, not lock waits
    # (test_faults covers those); 503s still happen and are retried.
    config_lines = ["busy_timeout_ms = 5000"]

    @classmethod
    def setUpClass(cls):
        # SIGKILL loses no page cache, so fsync plays no part in what this
        # test checks; on tmpfs the few thousand commits are not slowed by
        # the disk. RK_CRASH_TMPDIR chooses another place (a real disk).
        saved = tempfile.tempdir
        tempfile.tempdir = os.environ.get("RK_CRASH_TMPDIR") or (
            "/dev/shm" if os.path.isdir("/dev/shm") else None)
        try:
            super().setUpClass()
        finally:
            tempfile.tempdir = saved

    def notification(self, payment, kind, rng):
        """(fields or raw body, whether it is a valid notification)."""
        method, payment_id, amount = payment
        sign = lambda out_sum, pid=payment_id, password=method["password2"]: digest(  # noqa
            "sha256", f"{out_sum}:{pid}:{password}").upper()
        if kind == "valid":
            whole, fraction = amount.split(".")
            short = whole + ("." + fraction.rstrip("0") if fraction.rstrip("0") else "")
            out_sum = rng.choice([amount, amount + "0000", short])  # all the same kopecks
            return {"OutSum": out_sum, "InvId": str(payment_id), "SignatureValue": sign(out_sum),
                    "IsTest": "1", "Fee": "0.10"}, True
        if kind == "bad_signature":
            return {"OutSum": amount, "InvId": str(payment_id),
                    "SignatureValue": "0" * 64}, False
        if kind == "password1":
            return {"OutSum": amount, "InvId": str(payment_id),
                    "SignatureValue": sign(amount, password=method["password1"])}, False
        if kind == "other_amount":
            other = f"{float(amount) + 1:.2f}"
            return {"OutSum": other, "InvId": str(payment_id),
                    "SignatureValue": sign(other)}, False
        if kind == "tampered_amount":
            return {"OutSum": "0.01", "InvId": str(payment_id),
                    "SignatureValue": sign(amount)}, False
        if kind == "unknown_id":
            unknown = str(10_000_000 + payment_id)
            return {"OutSum": amount, "InvId": unknown,
                    "SignatureValue": sign(amount, pid=unknown)}, False
        if kind == "duplicate_key":
            body = urllib.parse.urlencode({"OutSum": amount, "InvId": str(payment_id),
                                           "SignatureValue": sign(amount)})
            return body + "&InvId=" + str(payment_id), False
        raise AssertionError(kind)

    def send(self, fields):
        body = fields if isinstance(fields, str) else urllib.parse.urlencode(fields)
        try:
            response = rkharness.http("POST", self.web.base_url + "/mancgi/rkresult",
                                      data=body.encode(), headers=FORM_TYPE,
                                      timeout=HTTP_TIMEOUT)
            return response.status, response.body
        except OSError as e:  # refused while lighttpd restarts, reset, closed early
            return None, repr(e).encode()
        except Exception as e:  # http.client.RemoteDisconnected and the like
            return None, repr(e).encode()

    def restart_web_server(self, killer):
        """kill -9 our lighttpd; start a new one on the same port."""
        old = self.web
        killer.set_server(None)
        os.kill(old.process.pid, signal.SIGKILL)
        old.process.wait(timeout=10)
        old.process = None
        new = rkharness.Lighttpd(BIN_DIR, self.root, old.workdir, port=old.port)
        for attempt in range(50):
            try:
                new.start()
                break
            except RuntimeError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        type(self).web = new
        killer.set_server(new.process.pid)

    def test_kill_9_under_load_loses_nothing_and_credits_once(self):
        rng = random.Random(SEED)
        method = self.add_method("sha256", shop="crash")

        def create(i):
            amount = f"{1 + i}.{i % 100:02d}"
            return method, self.add_payment(method, amount)[0], amount
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            payments = list(pool.map(create, range(PAYMENTS)))
        # Two thirds get valid notifications among invalid ones; the rest
        # only invalid ones and must end untouched.
        invalid_kinds = ["bad_signature", "password1", "other_amount", "tampered_amount",
                         "unknown_id", "duplicate_key"]
        work = []
        for index, payment in enumerate(payments):
            if index % 3 == 1:
                kinds = ["valid"] + rng.sample(invalid_kinds, 6) + ["bad_signature"]
            elif index % 3 == 2:
                kinds = ["valid"] * 4 + rng.sample(invalid_kinds, 6)
            else:
                kinds = rng.sample(invalid_kinds, 6) + ["bad_signature", "password1"]
            for kind in kinds:
                fields, valid = self.notification(payment, kind, rng)
                work.append((payment[1], kind, valid, fields))
        rng.shuffle(work)

        killer = Killer(os.path.join(BIN_DIR, "rkresult"), random.Random(SEED + 1))
        killer.set_server(self.web.process.pid)
        results = []
        results_lock = threading.Lock()
        position = iter(range(len(work)))
        position_lock = threading.Lock()
        restart_at = len(work) // 2
        restarted = threading.Event()

        def client():
            while True:
                with position_lock:
                    i = next(position, None)
                if i is None:
                    return
                if i == restart_at:
                    self.restart_web_server(killer)
                    restarted.set()
                payment_id, kind, valid, fields = work[i]
                status, body = self.send(fields)
                with results_lock:
                    results.append((payment_id, kind, valid, status, body))
                if status is None:
                    time.sleep(0.05)  # as Robokassa would, come back a little later

        started = time.monotonic()
        killer.start()
        try:
            threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        finally:
            killer.stop.set()
            killer.join(timeout=10)
        elapsed = time.monotonic() - started
        self.assertTrue(restarted.is_set())
        self.assertEqual(len(results), len(work))

        statuses = collections.Counter(
            "connection error" if s is None else f"{s // 100}xx" for _, _, _, s, _ in results)
        ok = [r for r in results if r[3] == 200 and r[4] == f"OK{r[0]}".encode()]
        paid_by_ok = {r[0] for r in ok}
        figures = {
            "seed": SEED,
            "notifications sent": len(results),
            "valid / invalid": f"{sum(r[2] for r in results)} / {sum(not r[2] for r in results)}",
            "answered OK": len(ok),
            "refused (4xx)": statuses["4xx"],
            "5xx (killed CGI, lock)": statuses["5xx"],
            "connection errors": statuses["connection error"],
            "rkresult processes killed": killer.killed,
            "lighttpd kill -9 + restart": 1,
            "seconds": f"{elapsed:.1f}",
        }

        # 1. The store is intact.
        db = sqlite3.connect(rkwire.store_path(self.root), timeout=30)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(db.execute("PRAGMA foreign_key_check").fetchall(), [])
        finally:
            db.close()

        # 2. Every OK is a payment that is paid.
        for r in ok:
            self.assertTrue(r[2], f"an invalid notification got OK: {r}")
        status_of = dict(rkwire.query(self.root, "SELECT id, status FROM payments"))
        for payment_id in paid_by_ok:
            self.assertEqual(status_of[payment_id], 4, payment_id)

        # 3. Nothing credited twice; nothing credited without a valid notification.
        self.check_credited_once(payments, valid_ids={r[0] for r in results if r[2]})
        figures["paid before retries"] = sum(1 for s in status_of.values() if s == 4)
        figures["paid but never answered OK (killed after commit)"] = sum(
            1 for pid, s in status_of.items() if s == 4 and pid not in paid_by_ok)

        # 4. Each payment with a valid notification but no OK: the retry is accepted.
        unanswered = sorted({r[0] for r in results if r[2]} - paid_by_ok)
        figures["valid but never OK (retried)"] = len(unanswered)
        for payment in payments:
            if payment[1] in unanswered:
                fields, _ = self.notification(payment, "valid", rng)
                status, body = self.send(fields)
                self.assertEqual((status, body), (200, f"OK{payment[1]}".encode()))
        self.check_credited_once(payments, valid_ids={r[0] for r in results if r[2]},
                                 all_paid=True, show=True)
        figures["paid after retries"] = len(
            rkwire.query(self.root, "SELECT id FROM payments WHERE status = 4"))

        print("\n\nCrash consistency (kill -9 under load):")
        print(rkwire.markdown_table(["figure", "value"], [[k, v] for k, v in figures.items()]),
              flush=True)
        # Every payment was sent at least eight notifications.
        self.assertGreaterEqual(len(results), 8 * PAYMENTS)
        self.assertGreater(killer.killed, 0)

    def check_credited_once(self, payments, valid_ids, all_paid=False, show=False):
        credited = dict(rkwire.query(
            self.root, "SELECT payment_id, count(*) FROM notifications "
            "WHERE verdict = 'credited' GROUP BY payment_id"))
        into_paid = dict(rkwire.query(
            self.root, "SELECT payment_id, count(*) FROM status_history "
            "WHERE to_status = 4 AND from_status != 4 GROUP BY payment_id"))
        status_of = dict(rkwire.query(self.root, "SELECT id, status FROM payments"))

        def show_one(payment):
            return payment[1], self.payment(payment[1])
        shown = {}
        if show:
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                shown = dict(pool.map(show_one, payments))
        for _, payment_id, _ in payments:
            paid = status_of[payment_id] == 4
            expected = 1 if paid else 0
            self.assertEqual(credited.get(payment_id, 0), expected, payment_id)
            self.assertEqual(into_paid.get(payment_id, 0), expected, payment_id)
            if show:
                self.assertEqual(shown[payment_id]["credits"], str(expected), payment_id)
            if payment_id not in valid_ids:
                self.assertEqual(status_of[payment_id], 1, payment_id)
            elif all_paid:
                self.assertTrue(paid, payment_id)


if __name__ == "__main__":
    unittest.main()
