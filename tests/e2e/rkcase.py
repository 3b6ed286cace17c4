"""Shared set-up for the end-to-end suites: a fresh MGR5_ROOT, real lighttpd
serving the four CGIs from the build, and the Robokassa emulator, all on
127.0.0.1. Helpers speak to them as Robokassa and a customer's browser do."""

import hashlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rkharness  # noqa: E402

BIN_DIR = os.environ.get("PMROBOKASSA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
MANAGER_URL = "https://billing.example.com/billmgr"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
SANITIZER_REPORT = re.compile(rb"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                              rb"UndefinedBehaviorSanitizer|runtime error: )")


def digest(algorithm, text):
    return hashlib.new(algorithm, text.encode()).hexdigest()


def parse_form(page):
    """The first form of a page."""
    return rkharness.parse_forms(page)[0]


class RkCase(unittest.TestCase):
    """One installation per test class: MGR5_ROOT, lighttpd, emulator."""

    config_lines = ["manager_url = " + MANAGER_URL]

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="rk-e2e-")
        cls.root = os.path.join(cls.workdir, "mgr5")
        os.makedirs(os.path.join(cls.root, "etc"))
        for sub in ("web", "emu"):
            os.makedirs(os.path.join(cls.workdir, sub))
        cls.web = rkharness.Lighttpd(BIN_DIR, cls.root, os.path.join(cls.workdir, "web"))
        cls.web.start()
        cls.emulator = rkharness.Emulator(os.path.join(cls.workdir, "emu"))
        cls.emulator.start()
        # Written once the servers have their ports: lines may name
        # {emulator} (its base URL) and {web}. The programs read it per run.
        lines = list(cls.config_lines)
        if not any(line.startswith("check_credentials") for line in lines):
            # Saving a method would ask Robokassa itself about the shop:
            # suites that test that check turn it on with opstate_url on
            # the emulator, the rest never leave loopback.
            lines.append("check_credentials = off")
        with open(os.path.join(cls.root, "etc", "pmrobokassa.conf"), "w") as f:
            for line in lines:
                f.write(line.format(emulator=cls.emulator.base_url, web=cls.web.base_url) + "\n")

    @classmethod
    def tearDownClass(cls):
        # A CGI that trips ASan/UBSan in a sanitizer build dies with a 500,
        # which a test may accept (a 5xx under fault injection); its report
        # in lighttpd's stderr (where a CGI's stderr goes) fails the class.
        report = b""
        if os.path.exists(str(cls.web.stderr_path)):
            with open(str(cls.web.stderr_path), "rb") as f:
                data = f.read()
            found = SANITIZER_REPORT.search(data)
            if found:
                report = data[max(0, found.start() - 200):found.start() + 3000]
        cls.emulator.stop()
        cls.web.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)
        if report:
            raise AssertionError("a sanitizer report in the CGIs' stderr:\n" +
                                 report.decode("utf-8", "replace"))

    # The module -------------------------------------------------------

    def module(self, *args, stdin=None, check=True):
        result = rkharness.run_module(BIN_DIR, self.root, *args, stdin=stdin)
        if check:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def add_method(self, algorithm="md5", test_mode=True, shop=None, recurring=False,
                   test_pair=False, **extra):
        """A method in the store and its shop at the emulator (registered
        first, so a credential check finds it). test_pair: the method and
        the shop also get a test Password #1/#2."""
        shop = shop or "shop_" + algorithm + ("_test" if test_mode else "_live")
        p1, p2, p3 = "Pass1word" + shop, "Pass2word" + shop, "Pass3word" + shop
        t1, t2 = ("Test1word" + shop, "Test2word" + shop) if test_pair else ("", "")
        self.emulator.register_shop({
            "login": shop, "password1": p1, "password2": p2, "password3": p3, "hash": algorithm,
            "test_password1": t1, "test_password2": t2,
            "result_url": self.web.base_url + "/mancgi/rkresult",
            "success_url": self.web.base_url + "/mancgi/rksuccess",
            "fail_url": self.web.base_url + "/mancgi/rkfail",
            "url_method": "POST", "test_mode": test_mode})
        args = ["method.add", "--name", "Robokassa " + algorithm,
                "--shop-id", shop, "--password1", p1, "--password2", p2,
                "--hash-algorithm", algorithm,
                "--gateway-url", self.emulator.base_url + "/Merchant/Index.aspx",
                "--password3", p3]
        if test_mode:
            args.append("--test-mode")
        if recurring:
            args.append("--recurring")
        if test_pair:
            args += ["--test-password1", t1, "--test-password2", t2]
        for key, value in extra.items():
            args += ["--" + key.replace("_", "-"), value]
        method_id = self.module(*args).stdout.splitlines()[0]
        return {"id": method_id, "shop": shop, "password1": p1, "password2": p2, "password3": p3,
                "test_password1": t1, "test_password2": t2, "hash": algorithm,
                "test_mode": test_mode}

    def add_payment(self, method, amount="990.00", *extra):
        out = self.module("payment.add", "--method", method["id"],
                          "--amount", amount, *extra).stdout.splitlines()
        return int(out[0]), out[1]

    def payment(self, payment_id):
        xml = self.module("payment.show", "--payment", str(payment_id)).stdout
        fields = dict(re.findall(r"<(\w+)>([^<]*)</\1>", xml))
        return fields

    def status(self, payment_id):
        return int(self.payment(payment_id)["status"])

    def journal(self, payment_id):
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))
        try:
            return db.execute("SELECT verdict, reply_status, reply_body FROM notifications "
                              "WHERE payment_id = ? ORDER BY id", (payment_id,)).fetchall()
        finally:
            db.close()

    # HTTP ---------------------------------------------------------------

    def get(self, path, headers=None):
        return rkharness.http("GET", self.web.base_url + path, headers=headers)

    def post(self, path, fields, headers=None):
        body = fields if isinstance(fields, (bytes, str)) else urllib.parse.urlencode(fields)
        if isinstance(body, str):
            body = body.encode()
        return rkharness.http("POST", self.web.base_url + path, data=body,
                              headers={**FORM_TYPE, **(headers or {})})

    def result_fields(self, method, payment_id, out_sum="990.000000", password=None, shp=None,
                      **extra):
        shp = shp or {}
        base = f"{out_sum}:{payment_id}:{password or method['password2']}"
        for name in sorted(shp):
            base += f":{name}={shp[name]}"
        fields = {"OutSum": out_sum, "InvId": str(payment_id),
                  "SignatureValue": digest(method["hash"], base).upper(), **shp, **extra}
        return fields

    def open_gateway(self, link):
        """The customer opens the link and the form reaches the emulator;
        returns the form and the emulator's operation token."""
        page = self.get(link)
        self.assertEqual(page.status, 200, page.body)
        form = parse_form(page.body.decode())
        gateway = rkharness.http("POST", form.action,
                                 data=urllib.parse.urlencode(form.fields).encode(),
                                 headers=FORM_TYPE)
        self.assertEqual(gateway.status, 200)
        self.assertNotIn(b'class="error"', gateway.body, gateway.body)
        token = re.search(rb'name="token" value="([0-9a-f]+)"', gateway.body).group(1).decode()
        return form, token

    def pay_through_gateway(self, link, lose_result=False):
        """The customer's whole path: link -> form -> emulator -> pay (-> ResultURL)."""
        form, token = self.open_gateway(link)
        fields = {"token": token, **({"lose_result": "1"} if lose_result else {})}
        paid = rkharness.http("POST", self.emulator.base_url + "/emulator/pay",
                              data=urllib.parse.urlencode(fields).encode(),
                              headers={**FORM_TYPE, "Accept": "application/json"})
        return form, paid.json()
