"""The web-server configurations pmrobokassa ships (etc/lighttpd, etc/nginx,
etc/apache2), each serving the CGIs of this build on 127.0.0.1, each taking
one full payment from the customer's link through the Robokassa emulator to
status 4.

A server whose Debian package is absent is skipped with the package's name;
CI installs them all (lighttpd, nginx, fcgiwrap, apache2)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import BIN_DIR, MANAGER_URL, RkCase, rkharness  # noqa: E402

import webservers  # noqa: E402  (tests/lib is on sys.path through rkcase)


class ShippedConfigPayment:
    """One installation per server: MGR5_ROOT, the server, the emulator.
    Mixed into RkCase for its helpers; server_class is a webservers class."""

    server_class = None

    @classmethod
    def setUpClass(cls):
        reason = cls.server_class.missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.workdir = tempfile.mkdtemp(prefix=f"rk-{cls.server_class.name}-")
        try:
            cls.root = os.path.join(cls.workdir, "mgr5")
            os.makedirs(os.path.join(cls.root, "etc"))
            with open(os.path.join(cls.root, "etc", "pmrobokassa.conf"), "w") as f:
                # No credential check: the suite never leaves loopback.
                f.write("\n".join([*cls.config_lines, "check_credentials = off"]) + "\n")
            cls.web = cls.server_class(BIN_DIR, cls.root, os.path.join(cls.workdir, "web"))
            if cls.web.cgi_user is not None:
                # The CGIs run as cgi_user: the installation is theirs, and
                # the module below runs as that user too, as it would on a
                # server where the web server's account owns var/.
                webservers.hand_over(cls.root, cls.web.cgi_user, cls.workdir)
            cls.emulator = rkharness.Emulator(os.path.join(cls.workdir, "emu"))
            cls.web.start()
            cls.emulator.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for name in ("emulator", "web"):
            if getattr(cls, name, None) is not None:
                getattr(cls, name).stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def module(self, *args, stdin=None, check=True):
        user = self.web.cgi_user
        if user is None:
            result = rkharness.run_module(BIN_DIR, self.root, *args, stdin=stdin)
        else:
            result = subprocess.run(
                [str(self.web.cgi_dir / "pmrobokassa"), "--command", *args], input=stdin,
                capture_output=True, text=True, timeout=rkharness.MODULE_TIMEOUT, check=False,
                env={**os.environ, "MGR5_ROOT": self.root}, user=user.pw_uid,
                group=user.pw_gid, extra_groups=[])
        if check:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def server_logs(self):
        return "".join(rkharness._tail(path, 2000) for path in
                       (self.web.error_log, self.web.stderr_path))

    def test_one_full_payment(self):
        method = self.add_method("sha256", shop="web_" + self.server_class.name)
        payment_id, link = self.add_payment(method, "1490.50", "--description", "VPS, one month")
        self.assertEqual(self.status(payment_id), 1)
        form, paid = self.pay_through_gateway(link)
        self.assertEqual(form.fields["OutSum"], "1490.50")
        self.assertTrue(paid["result"]["accepted"], (paid, self.server_logs()))
        self.assertEqual(paid["result"]["attempts"][-1]["body"], f"OK{payment_id}")
        self.assertEqual(self.status(payment_id), 4)
        self.assertEqual(self.payment(payment_id)["credits"], "1")

        # The browser comes back through SuccessURL, and a repeated
        # notification credits nothing twice.
        landing = self.post("/mancgi/rksuccess", paid["redirect"]["fields"])
        self.assertEqual(landing.status, 302, landing.body)
        self.assertEqual(landing.headers["location"],
                         f"{MANAGER_URL}?func=payment.success&elid={payment_id}")
        again = self.post("/mancgi/rkresult",
                          self.result_fields(method, payment_id, out_sum="1490.500000"))
        self.assertEqual((again.status, again.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.payment(payment_id)["credits"], "1")

    def test_fail_url_and_refusals_pass_through_unchanged(self):
        method = self.add_method("md5", shop="refuse_" + self.server_class.name)
        payment_id, _ = self.add_payment(method, "10")
        fail = self.get(f"/mancgi/rkfail?InvId={payment_id}&OutSum=10.00")
        self.assertEqual(fail.status, 302, fail.body)
        self.assertEqual(fail.headers["location"],
                         f"{MANAGER_URL}?func=payment.fail&elid={payment_id}")
        forged = self.result_fields(method, payment_id, out_sum="10.00", password="Wrong0ne")
        refused = self.post("/mancgi/rkresult", forged)
        self.assertEqual(refused.status, 403, refused.body)
        # The server lets a body over 64 KiB reach the CGI, which answers 413.
        body = urllib.parse.urlencode(forged) + "&Shp_pad=" + "x" * (65 * 1024)
        self.assertEqual(self.post("/mancgi/rkresult", body).status, 413)
        self.assertEqual(self.status(payment_id), 1)

    def test_nothing_but_the_four_cgis_is_served(self):
        for path in ("/", "/mancgi/", "/mancgi/pmrobokassa", "/mancgi/rkresult/x",
                     "/mancgi/rkresult.log", "/pmrobokassa.conf", "/htdocs"):
            with self.subTest(path=path):
                response = self.get(path)
                self.assertIn(response.status, (403, 404), (path, response.body[:200]))


class LighttpdShippedConfig(ShippedConfigPayment, RkCase):
    server_class = webservers.Lighttpd


class NginxFcgiwrapShippedConfig(ShippedConfigPayment, RkCase):
    server_class = webservers.Nginx


class ApacheCgidShippedConfig(ShippedConfigPayment, RkCase):
    server_class = webservers.Apache


if __name__ == "__main__":
    unittest.main()
