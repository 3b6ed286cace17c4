"""Secrets and web hardening.

Passwords #1/#2/#3 live in the store and nowhere else: after full payments
(through the Robokassa emulator), a payment saved by checkpay, a refund,
refusals and the admin commands, with log_level 9, no log under
MGR5_ROOT/var, no file of lighttpd's, no page or reply body or header the
test received and no command's stdout/stderr holds a password, a signature
pre-image (e.g. `990.00:ID:Password2`), the installation's link secret, or
(in our own logs) a payment-link key. The store is 0640 in a 0750 var/.

Web: redirects go only to the configured panel, whatever the request says;
every reply carries Cache-Control: no-store and X-Content-Type-Options:
nosniff, every HTML page a CSP; values are escaped; rkresult answers only
GET and POST.
"""

import os
import re
import stat
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import rkwire  # noqa: E402
from rkcase import (BIN_DIR, FORM_TYPE, MANAGER_URL, RkCase, digest, parse_form,  # noqa: E402
                    rkharness)

STORE_FILES = ("pmrobokassa.db", "pmrobokassa.db-wal", "pmrobokassa.db-shm")
LIGHTTPD_ERROR_PAGE = b'<?xml version="1.0" encoding="iso-8859-1"?>'


class Secrets(RkCase):
    config_lines = ["manager_url = " + MANAGER_URL, "busy_timeout_ms = 5000", "log_level = 9"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Point the reconciliation and refund calls at the emulator.
        emulator = cls.emulator.base_url
        with open(os.path.join(cls.root, "etc", "pmrobokassa.conf"), "a") as f:
            f.write(f"opstate_url = {emulator}/Merchant/WebService/Service.asmx/OpStateExt\n"
                    f"refund_url = {emulator}/RefundService/Refund/Create\n"
                    "checkpay_min_age = 0\n")
        cls.replies = []  # (label, status, headers, body) of every reply received
        cls.outputs = []  # (command, stdout, stderr) of every command run
        cls.secrets = set()  # passwords and pre-images
        cls.link_keys = set()

    # Recording everything received --------------------------------------

    def module(self, *args, stdin=None, check=True):
        result = super().module(*args, stdin=stdin, check=check)
        type(self).outputs.append((" ".join(args[:1]), result.stdout, result.stderr))
        return result

    def record(self, label, response):
        type(self).replies.append((label, response.status, response.headers, response.body))
        return response

    def get(self, path, headers=None):
        return self.record("GET " + path.split("?")[0], super().get(path, headers))

    def post(self, path, fields, headers=None):
        return self.record("POST " + path, super().post(path, fields, headers))

    def request(self, method, path, body=b"", headers=None):
        return self.record(method + " " + path, rkharness.http(
            method, self.web.base_url + path, data=body, headers=headers))

    def add_method(self, *args, **kwargs):
        method = super().add_method(*args, **kwargs)
        for name in ("password1", "password2", "password3", "test_password1", "test_password2"):
            if method.get(name):
                type(self).secrets.add(method[name])
        return method

    def add_payment(self, method, amount="990.00", *extra):
        payment_id, link = super().add_payment(method, amount, *extra)
        type(self).link_keys.add(link.split("key=")[1])
        six = f"{float(amount):.6f}"
        for out_sum in {amount, six, f"{float(amount):.2f}"}:
            type(self).secrets.update({
                f"{out_sum}:{payment_id}:{method['password2']}",                # result
                f"{out_sum}:{payment_id}:{method['password1']}",                # success
                f"{method['shop']}:{out_sum}:{payment_id}:{method['password1']}",  # init
            })
        type(self).secrets.add(f"{method['shop']}:{payment_id}:{method['password2']}")  # OpState
        if method.get("test_password1"):
            for out_sum in {amount, six, f"{float(amount):.2f}"}:
                type(self).secrets.update({
                    f"{out_sum}:{payment_id}:{method['test_password2']}",
                    f"{out_sum}:{payment_id}:{method['test_password1']}",
                    f"{method['shop']}:{out_sum}:{payment_id}:{method['test_password1']}",
                })
            type(self).secrets.add(f"{method['shop']}:{payment_id}:{method['test_password2']}")
        return payment_id, link

    # Driving the installation --------------------------------------------

    def drive(self):
        """Payments, refusals and admin commands: everything that might
        leak a secret somewhere."""
        method = self.add_method("sha256", shop="secrets_main")
        self.assertTrue(method.get("password3"), "refunds need Password #3")
        md5 = self.add_method("md5", shop="secrets_md5")
        test_pair = self.add_method("sha1", shop="secrets_test_pair", test_pair=True)

        # 1. Full payments: link -> form -> gateway -> ResultURL -> SuccessURL.
        for m in (method, md5, test_pair):
            payment_id, link = self.add_payment(m, "990.00", "--description", "<b>Hosting</b>")
            form, paid = self.pay_through_gateway(link)
            for attempt in paid["result"]["attempts"]:
                type(self).replies.append(("rkresult via emulator", attempt.get("status"), {},
                                           str(attempt.get("body", "")).encode()))
            self.post("/mancgi/rksuccess", paid["redirect"]["fields"])
            self.get(link)  # the paid page
            self.assertEqual(self.status(payment_id), 4)

        # 2. A payment whose ResultURL is lost, saved by checkpay; then refunded.
        lost_id, link = self.add_payment(method, "150.50")
        page = self.get(link)
        form = parse_form(page.body.decode())
        gateway = rkharness.http("POST", form.action,
                                 data=urllib.parse.urlencode(form.fields).encode(),
                                 headers=FORM_TYPE)
        token = re.search(rb'name="token" value="([0-9a-f]+)"', gateway.body).group(1).decode()
        rkharness.http("POST", self.emulator.base_url + "/emulator/pay",
                       data=urllib.parse.urlencode({"token": token,
                                                    "lose_result": "1"}).encode(),
                       headers={**FORM_TYPE, "Accept": "application/json"})
        self.assertEqual(self.status(lost_id), 2)
        self.module("checkpay")
        self.assertEqual(self.status(lost_id), 4)
        self.module("refund", "--payment", str(lost_id), "--amount", "50.50")
        self.module("refund", "--payment", str(lost_id), "--amount", "1000.00", check=False)

        # 3. Refusals at every CGI.
        refused_id, link = self.add_payment(md5, "10.00")
        good = self.result_fields(md5, refused_id, out_sum="10.00")
        self.post("/mancgi/rkresult", {**good, "SignatureValue": "0" * 32})
        self.post("/mancgi/rkresult", self.result_fields(md5, refused_id, out_sum="10.00",
                                                         password=md5["password1"]))
        self.post("/mancgi/rkresult", self.result_fields(md5, refused_id, out_sum="11.00"))
        self.post("/mancgi/rkresult", self.result_fields(md5, 99999, out_sum="10.00"))
        self.post("/mancgi/rkresult", urllib.parse.urlencode(good) + "&OutSum=1")
        self.post("/mancgi/rksuccess", {**good, "SignatureValue": good["SignatureValue"]})
        self.post("/mancgi/rkfail", {"InvId": str(refused_id), "OutSum": "10.00"})
        self.get(f"/mancgi/rkpayment?elid={refused_id}&key=" + "0" * 32)
        self.get(f"/mancgi/rkpayment?elid={refused_id}")
        self.get("/mancgi/rkpayment?elid=abc&key=x")
        self.assertEqual(self.status(refused_id), 1)

        # 4. Admin commands, good and bad.
        self.module("method.list")
        for m in (method, md5, test_pair):
            self.module("method.show", "--method", m["id"])
        self.module("payment.list")
        for payment_id in range(1, lost_id + 2):
            self.module("payment.show", "--payment", str(payment_id), check=False)
        self.module("config")
        for password2 in ("short1", "Bad1Password", "NoDigitsHere"):
            result = self.module("method.add", "--name", "bad", "--shop-id", "bad",
                                 "--password1", "Bad1Password", "--password2", password2,
                                 check=False)
            self.assertEqual(result.returncode, 2)
        type(self).secrets.add("Bad1Password")
        refused = self.module("pmvalidate", stdin="<doc><shop_id>s</shop_id><password1>Bad1"
                              "Password</password1><password2>Bad1Password</password2></doc>")
        self.assertIn('object="password2"', refused.stdout)
        # A valid pmvalidate echoes the submitted form by design (docs/interface.md
        # §3), passwords included: that stdout goes back to BILLmanager,
        # which sent them. Only its stderr and logs must stay clean.
        echoed = rkharness.run_module(
            BIN_DIR, self.root, "pmvalidate",
            stdin="<doc><shop_id>s</shop_id><password1>Echo1Password</password1>"
                  "<password2>Echo2Password</password2></doc>")
        self.assertIn("Echo1Password", echoed.stdout)
        type(self).outputs.append(("pmvalidate (stderr only)", "", echoed.stderr))
        type(self).secrets.update({"Echo1Password", "Echo2Password"})

        # 5. The journal as an admin reads it, every entry in full.
        listed = self.module("journal.list").stdout
        for entry_id in re.findall(r"<entry><id>([0-9]+)</id>", listed):
            self.module("journal.show", "--entry", entry_id)

        # 6. The credential check asked for real (the emulator), refusing a
        # wrong test Password #2 and accepting the right pair.
        conf = os.path.join(self.root, "etc", "pmrobokassa.conf")
        with open(conf, encoding="utf-8") as f:
            saved = f.read()
        with open(conf, "w", encoding="utf-8") as f:
            f.write(saved.replace("check_credentials = off", "check_credentials = on"))
        try:
            base = ["method.add", "--name", "checked", "--shop-id", test_pair["shop"],
                    "--password1", test_pair["password1"], "--password2", test_pair["password2"],
                    "--hash-algorithm", "sha1", "--test-mode",
                    "--test-password1", test_pair["test_password1"]]
            wrong = self.module(*base, "--test-password2", "Wrong2TestPass", check=False)
            self.assertEqual(wrong.returncode, 2, wrong.stderr)
            self.assertIn("--password2", wrong.stderr)
            type(self).secrets.add("Wrong2TestPass")
            self.module(*base, "--test-password2", test_pair["test_password2"])
        finally:
            with open(conf, "w", encoding="utf-8") as f:
                f.write(saved)

    def test_secrets_are_nowhere_but_the_store_and_pages_are_hardened(self):
        # Runs last (by name), so it also searches what the other tests of
        # this class received.
        self.drive()
        self.check_file_modes()
        self.check_no_secret_anywhere()
        self.check_headers_of_every_reply()

    def check_file_modes(self):
        var = os.path.join(self.root, "var")
        self.assertEqual(stat.S_IMODE(os.stat(var).st_mode), 0o750)
        for name in os.listdir(var):
            mode = stat.S_IMODE(os.stat(os.path.join(var, name)).st_mode)
            if name in STORE_FILES or name.endswith(".log"):
                self.assertEqual(mode, 0o640, name)
            self.assertEqual(mode & 0o007, 0, f"{name} is open to others")

    def check_no_secret_anywhere(self):
        secrets = sorted(type(self).secrets)
        self.assertGreater(len(secrets), 10)
        link_secret = rkwire.query(self.root,
                                   "SELECT value FROM settings WHERE key = 'link_secret'")[0][0]
        places = []  # (where, bytes)
        for top in (self.root, self.web.workdir):
            for directory, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(directory, name)
                    if os.path.dirname(path) == os.path.join(self.root, "var") and \
                            name in STORE_FILES:
                        continue
                    with open(path, "rb") as f:
                        places.append((path, f.read()))
        for label, status, headers, body in type(self).replies:
            places.append((f"reply {label} {status}", str(dict(headers or {})).encode() + body))
        for command, stdout, stderr in type(self).outputs:
            places.append((f"command {command}", (stdout + stderr).encode()))
        self.assertTrue(any(p.endswith("rkresult.log") for p, _ in places))
        searched = 0
        for where, data in places:
            searched += len(data)
            for secret in secrets:
                self.assertFalse(secret.encode() in data, f"{secret!r} found in {where}")
            self.assertFalse(link_secret in data, f"the link secret found in {where}")
            self.assertFalse(link_secret.hex().encode() in data, f"the link secret in {where}")
            if where.startswith(os.path.join(self.root, "var")):
                for key in type(self).link_keys:
                    self.assertFalse(key.encode() in data, f"a payment-link key in {where}")
        print(f"\n  searched {len(places)} files, replies and outputs ({searched} bytes) for "
              f"{len(secrets)} passwords and pre-images: none found", flush=True)

    def check_headers_of_every_reply(self):
        checked = 0
        for label, status, headers, body in type(self).replies:
            if not headers:
                continue  # relayed by the emulator: no headers to check
            if body.startswith(LIGHTTPD_ERROR_PAGE):
                continue  # refused by lighttpd itself (a raw CR/LF, say): no CGI ran
            checked += 1
            self.assertEqual(headers.get("Cache-Control"), "no-store", label)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", label)
            if headers.get("Content-Type", "").startswith("text/html"):
                csp = headers.get("Content-Security-Policy", "")
                for directive in ("default-src 'none'", "frame-ancestors 'none'", "form-action"):
                    self.assertIn(directive, csp, label)
            if headers.get("Location"):
                self.assertTrue(headers["Location"].startswith(MANAGER_URL + "?func=payment."),
                                headers["Location"])
            self.assertNotIn(b"<b>Hosting", body, "an unescaped value")
        self.assertGreater(checked, 20)

    # Web ------------------------------------------------------------------

    def test_no_parameter_or_header_steers_a_redirect(self):
        method = self.add_method("sha1", shop="redirects")
        payment_id, _ = self.add_payment(method, "5.00")
        base = f"5.00:{payment_id}:{method['password1']}"
        good = {"OutSum": "5.00", "InvId": str(payment_id),
                "SignatureValue": digest("sha1", base), "Culture": "en"}
        evil = "https://evil.example/"
        steer = {"manager_url": evil, "Location": evil, "url": evil, "return": evil,
                 "next": evil, "redirect": evil, "ReturnUrl": evil, "SuccessURL": evil,
                 "FailURL": evil, "func": "x", "elid": "666"}
        headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
                   "Referer": evil, "X-Original-URL": evil}
        for path, fields in (("/mancgi/rksuccess", {**good, **steer}),
                             ("/mancgi/rkfail", {"InvId": str(payment_id), **steer})):
            for how in ("POST", "GET"):
                with self.subTest(path=path, how=how):
                    if how == "POST":
                        response = self.post(path, fields, headers=headers)
                    else:
                        response = self.get(path + "?" + urllib.parse.urlencode(fields),
                                            headers=headers)
                    self.assertEqual(response.status, 302)
                    func = "success" if "success" in path else "fail"
                    self.assertEqual(response.headers["Location"],
                                     f"{MANAGER_URL}?func=payment.{func}&elid={payment_id}")
        for bad_id in ("//evil.example", "https://evil.example", f"{payment_id}@evil.example",
                       f"{payment_id}#@evil.example", f"{payment_id}/../../evil",
                       f"{payment_id}%0d%0aLocation:%20https:%2F%2Fevil.example", "%2F%2Fevil"):
            response = self.get("/mancgi/rkfail?InvId=" + urllib.parse.quote(bad_id, safe="%"))
            self.assertEqual(response.status, 400, bad_id)
            self.assertNotIn("Location", response.headers)
        # The payment form posts only to the method's gateway.
        payment_id, link = self.add_payment(method, "5.00")
        page = self.get(link + "&gateway_url=" + urllib.parse.quote(evil) + "&action=" + evil)
        self.assertEqual(page.status, 200)
        self.assertEqual(parse_form(page.body.decode()).action,
                         self.emulator.base_url + "/Merchant/Index.aspx")
        self.assertNotIn(b"evil", page.body)
        csp = page.headers["Content-Security-Policy"]
        self.assertIn(f"form-action {self.emulator.base_url};", csp)

    def test_markup_in_values_and_names_is_escaped(self):
        method = self.add_method("md5", shop="escaping")
        nasty = "<img src=x onerror=alert(1)>\"'&"
        payment_id, link = self.add_payment(method, "5.00", "--description", nasty)
        page = self.get(link).body.decode()
        self.assertNotIn("<img", page)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;", page)
        # A parameter name quoted in an error page.
        name = urllib.parse.quote("<script>alert(1)</script>")
        for path in ("/mancgi/rksuccess", "/mancgi/rkfail", "/mancgi/rkpayment"):
            response = self.get(f"{path}?{name}=1&{name}=2")
            self.assertEqual(response.status, 400)
            self.assertNotIn(b"<script>alert", response.body)
            self.assertIn(b"&lt;script&gt;alert(1)&lt;/script&gt;", response.body)

    def test_rkresult_answers_only_get_and_post(self):
        method = self.add_method("md5", shop="methods")
        payment_id, _ = self.add_payment(method, "5.00")
        fields = urllib.parse.urlencode(self.result_fields(method, payment_id, out_sum="5.00"))
        for verb in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT"):
            with self.subTest(method=verb):
                if verb == "CONNECT":
                    reply = rkwire.raw_http(self.web.port, rkwire.http_request(
                        "CONNECT", "/mancgi/rkresult?" + fields))
                    self.assertGreaterEqual(reply.status, 400)
                    self.assertLess(reply.status, 500)
                    continue
                response = self.request(verb, "/mancgi/rkresult?" + fields,
                                        body=b"" if verb == "HEAD" else fields.encode(),
                                        headers=FORM_TYPE)
                self.assertEqual(response.status, 405)
                self.assertEqual(response.headers.get("Allow"), "GET, POST")
                self.assertFalse(response.body.startswith(b"OK"))
        self.assertEqual(self.status(payment_id), 1)
        # Journaled like every refusal (with no payment: the request was not read).
        refused = rkwire.query(self.root, "SELECT count(*) FROM notifications "
                               "WHERE reply_status = 405 AND payment_id IS NULL")[0][0]
        self.assertEqual(refused, 6)
        ok = self.get("/mancgi/rkresult?" + fields)
        self.assertEqual(ok.body, f"OK{payment_id}".encode())


if __name__ == "__main__":
    unittest.main()
