"""Resource faults: the store locked past the busy timeout, a full
disk, a read-only filesystem, a file-size limit, a missing var/ and an
unwritable var/. Each time rkresult must answer 5xx with a body that does
not begin with OK (so Robokassa retries), write nothing half-way (payment
unchanged, no journal row, no history row), and log a line saying why; and
once the fault is gone, the retried notification is credited exactly once.

The tests run as root, who ignores file modes, so the faults are made with
what the kernel enforces even for root: a small tmpfs mounted on var/ and
filled up or remounted read-only, a read-only bind mount of var/ (or
chattr +i),
and RLIMIT_FSIZE set on our lighttpd (inherited by the CGIs). A fault the
machine cannot make (no mount, no chattr) is skipped with the reason.
"""

import os
import re
import resource
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import rkwire  # noqa: E402
from rkcase import RkCase  # noqa: E402

BUSY_TIMEOUT_MS = 300
# A line rkresult logs for a store it cannot use.
STORE_ERROR = re.compile(r"\] rkresult ERROR .*(store|database|disk|file)", re.I)


def run(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:  # no such tool here
        return subprocess.CompletedProcess(command, 127, "", str(e))


def truncate_wal(mgr5_root):
    """Checkpoints the store and truncates its WAL, so that the next commit
    must grow files rather than reuse WAL space written before (the CGIs
    may leave the WAL in place between requests)."""
    rows = rkwire.query(mgr5_root, "PRAGMA wal_checkpoint(TRUNCATE)")
    assert rows[0][0] == 0, f"the checkpoint was blocked: {rows}"


class FaultCase(RkCase):
    config_lines = [f"busy_timeout_ms = {BUSY_TIMEOUT_MS}"]

    def setUp(self):
        if "method" not in type(self).__dict__:
            type(self).method = self.add_method("sha1", shop="faults_" + type(self).__name__)

    @property
    def var(self):
        return os.path.join(self.root, "var")

    def notify(self, payment_id):
        fields = self.result_fields(self.method, payment_id, out_sum="990.00")
        return self.post("/mancgi/rkresult", fields)

    def log_marks(self):
        """Where rkresult's log and the CGIs' stderr (lighttpd's) end now."""
        def size(path):
            return os.path.getsize(path) if os.path.exists(path) else 0
        return {path: size(path) for path in (os.path.join(self.var, "rkresult.log"),
                                              str(self.web.stderr_path))}

    def new_log_lines(self, marks):
        text = ""
        for path, offset in marks.items():
            if os.path.exists(path):
                with open(path, "rb") as f:
                    if os.path.getsize(path) >= offset:
                        f.seek(offset)
                    text += f.read().decode("utf-8", "replace")
        return text

    def assert_refused_for_retry(self, response, marks):
        self.assertGreaterEqual(response.status, 500, response.body)
        self.assertLess(response.status, 600, response.body)
        self.assertFalse(response.body.startswith(b"OK"), response.body)
        lines = self.new_log_lines(marks)
        self.assertRegex(lines, STORE_ERROR, "no log line says why")
        return [line for line in lines.splitlines() if STORE_ERROR.search(line)][0]

    def assert_untouched(self, payment_id, history_before):
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.payment(payment_id)["credits"], "0")
        self.assertEqual(self.journal(payment_id), [])
        self.assertEqual(rkwire.snapshot(self.root)[1], history_before)
        self.assertEqual(rkwire.query(self.root, "PRAGMA integrity_check"), [("ok",)])

    def assert_retry_credited_once(self, payment_id):
        response = self.notify(payment_id)
        self.assertEqual((response.status, response.body), (200, f"OK{payment_id}".encode()))
        response = self.notify(payment_id)  # Robokassa's own repeat: acknowledged, no credit
        self.assertEqual((response.status, response.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.status(payment_id), 4)
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        verdicts = [row[0] for row in self.journal(payment_id)]
        self.assertEqual(verdicts, ["credited", "duplicate"])

    def fault_then_retry(self, make_fault, clear_fault):
        """The common shape: a payment, the fault, a notification refused
        for retry, nothing written, the fault cleared, the retry credited."""
        payment_id, _ = self.add_payment(self.method, "990.00")
        history = rkwire.snapshot(self.root)[1]
        try:
            make_fault()
            marks = self.log_marks()
            response = self.notify(payment_id)
            line = self.assert_refused_for_retry(response, marks)
        finally:
            clear_fault()
        self.assert_untouched(payment_id, history)
        self.assert_retry_credited_once(payment_id)
        print(f"\n  {self._testMethodName}: {response.status}; logged: {line.strip()[:160]}",
              flush=True)
        return response


class LockedStore(FaultCase):
    def test_writer_holding_the_lock_past_the_busy_timeout_gets_503_then_retry_credits(self):
        db = rkwire.store_path(self.root)
        holder = None
        elapsed = []

        def lock():
            nonlocal holder
            holder = subprocess.Popen(
                [sys.executable, "-c",
                 "import sqlite3, sys\n"
                 "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                 "db.execute('BEGIN IMMEDIATE')\n"
                 "db.execute(\"INSERT INTO settings (key, value) VALUES ('fault', x'00')\")\n"
                 "print('locked', flush=True)\n"
                 "sys.stdin.readline()\n"
                 "db.execute('ROLLBACK')\n", db],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            elapsed.append(time.monotonic())

        def unlock():
            elapsed[0] = time.monotonic() - elapsed[0]
            holder.stdin.write("\n")
            holder.stdin.close()
            holder.wait(timeout=10)
            holder.stdout.close()

        response = self.fault_then_retry(lock, unlock)
        self.assertEqual(response.status, 503)
        # It waited for the lock (the busy timeout) but not much longer.
        self.assertGreaterEqual(elapsed[0], BUSY_TIMEOUT_MS / 1000)
        self.assertLess(elapsed[0], 10)


class FileSizeLimit(FaultCase):
    def test_rlimit_fsize_on_the_web_server_gets_5xx_then_retry_credits(self):
        # RLIMIT_FSIZE is inherited by every CGI lighttpd starts. A write past
        # it raises SIGXFSZ (which would kill the CGI mid-transaction) unless
        # ignored, when write() fails with EFBIG: either way nothing commits.
        # Only the soft limit moves (raising a hard one needs CAP_SYS_RESOURCE).
        pid = self.web.process.pid
        try:
            saved = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        except (OSError, AttributeError) as e:
            self.skipTest(f"prlimit on another process: {e}")
        limit = 8192  # below a transaction's WAL frames; above our lighttpd's logs
        self.assertLess(os.path.getsize(self.web.access_log), limit)

        def make():
            truncate_wal(self.root)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, saved[1]))

        def clear():
            resource.prlimit(pid, resource.RLIMIT_FSIZE, saved)

        response = self.fault_then_retry(make, clear)
        self.assertEqual(response.status, 503)


class SmallFilesystem(FaultCase):
    """var/ is a 1 MiB tmpfs, to be filled up or remounted read-only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        var = os.path.join(cls.root, "var")
        os.makedirs(var, mode=0o750)
        mounted = run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs", var)
        if mounted.returncode != 0:
            super().tearDownClass()
            raise unittest.SkipTest("cannot mount a small tmpfs here: " + mounted.stderr.strip())
        cls.mounted = var

    @classmethod
    def tearDownClass(cls):
        run("mount", "-o", "remount,rw", cls.mounted)
        run("umount", cls.mounted)
        super().tearDownClass()

    def test_full_disk_gets_503_then_retry_credits(self):
        filler = os.path.join(self.var, "filler")

        def fill():
            truncate_wal(self.root)
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError:
                    pass
            self.assertEqual(os.statvfs(self.var).f_bavail, 0)

        response = self.fault_then_retry(fill, lambda: os.unlink(filler))
        self.assertEqual(response.status, 503)

    def test_read_only_filesystem_gets_503_then_retry_credits(self):
        def make():
            result = run("mount", "-o", "remount,ro", self.var)
            self.assertEqual(result.returncode, 0, result.stderr)

        def clear():
            result = run("mount", "-o", "remount,rw", self.var)
            self.assertEqual(result.returncode, 0, result.stderr)

        response = self.fault_then_retry(make, clear)
        self.assertEqual(response.status, 503)


class VarDirectory(FaultCase):
    def test_missing_var_gets_503_and_no_new_store_then_retry_credits(self):
        away = self.var + ".away"
        logged = []

        def make():
            os.rename(self.var, away)

        def clear():
            # rkresult may have made a new var/ for its log; it must not have
            # made a new, empty store there.
            if os.path.exists(self.var):
                logged.append(sorted(os.listdir(self.var)))
                shutil.rmtree(self.var)
            os.rename(away, self.var)

        response = self.fault_then_retry(make, clear)
        self.assertEqual(response.status, 503)
        for listing in logged:
            self.assertNotIn("pmrobokassa.db", listing)

    def test_unwritable_var_gets_503_then_retry_credits(self):
        # Everything in var/ read-only, even for root: a read-only bind
        # mount where mount works, else chattr +i on var/ and each file in it.
        how = []
        frozen = []

        def make():
            bound = run("mount", "--bind", self.var, self.var)
            if bound.returncode == 0:
                how.append("bind")
                remount = run("mount", "-o", "remount,bind,ro", self.var)
                self.assertEqual(remount.returncode, 0, remount.stderr)
                return
            for name in [""] + os.listdir(self.var):
                path = os.path.join(self.var, name)
                if run("chattr", "+i", path).returncode != 0:
                    self.skipTest("neither a read-only bind mount nor chattr +i works here")
                frozen.append(path)
            how.append("chattr")

        def clear():
            if how == ["bind"]:
                result = run("umount", self.var)
                self.assertEqual(result.returncode, 0, result.stderr)
            for path in reversed(frozen):
                run("chattr", "-i", path)

        response = self.fault_then_retry(make, clear)
        self.assertEqual(response.status, 503)
        print(f"  (made unwritable with {how[0]})", flush=True)


if __name__ == "__main__":
    unittest.main()
