"""The four CGI programs through real lighttpd and the Robokassa emulator
(docs/interface.md §4)."""

import concurrent.futures
import hmac
import os
import sqlite3
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import MANAGER_URL, RkCase, digest, parse_form, rkharness  # noqa: E402

ALGORITHMS = ["md5", "ripemd160", "sha1", "sha256", "sha384", "sha512"]


class FullPayment(RkCase):
    def test_each_algorithm_pays_end_to_end_once(self):
        for algorithm in ALGORITHMS:
            with self.subTest(algorithm=algorithm):
                method = self.add_method(algorithm)
                payment_id, link = self.add_payment(method, "990.00", "--description",
                                                    "Hosting, invoice " + algorithm)
                self.assertEqual(self.status(payment_id), 1)
                form, paid = self.pay_through_gateway(link)
                self.assertEqual(self.status(payment_id), 4)
                self.assertTrue(paid["result"]["accepted"], paid)
                self.assertEqual(paid["result"]["attempts"][-1]["body"], f"OK{payment_id}")
                verdicts = [row[0] for row in self.journal(payment_id)]
                self.assertEqual(verdicts.count("credited"), 1, verdicts)
                self.assertEqual(self.payment(payment_id)["credits"], "1")

                # The browser follows Robokassa's redirect to SuccessURL.
                redirect = paid["redirect"]
                landing = self.post("/mancgi/rksuccess", redirect["fields"])
                self.assertEqual(landing.status, 302, landing.body)
                self.assertEqual(landing.headers["location"],
                                 f"{MANAGER_URL}?func=payment.success&elid={payment_id}")
                self.assertEqual(self.status(payment_id), 4)


class ResultRefusals(RkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def setUp(self):
        self.method = self.add_method("md5", test_mode=True, shop="refusals")
        self.payment_id, _ = self.add_payment(self.method, "990.00")

    def assert_refused(self, response, payment_id=None):
        payment_id = payment_id or self.payment_id
        self.assertGreaterEqual(response.status, 400, response.body)
        self.assertLess(response.status, 500, response.body)
        self.assertFalse(response.body.startswith(b"OK"), response.body)
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.payment(payment_id)["credits"], "0")

    def test_wrong_signature(self):
        fields = self.result_fields(self.method, self.payment_id)
        fields["SignatureValue"] = "0" * 32
        self.assert_refused(self.post("/mancgi/rkresult", fields))

    def test_signed_with_password1_instead_of_password2(self):
        fields = self.result_fields(self.method, self.payment_id,
                                    password=self.method["password1"])
        self.assert_refused(self.post("/mancgi/rkresult", fields))

    def test_tampered_out_sum(self):
        fields = self.result_fields(self.method, self.payment_id)
        fields["OutSum"] = "1.000000"
        self.assert_refused(self.post("/mancgi/rkresult", fields))

    def test_amount_past_kopecks_even_when_signed(self):
        fields = self.result_fields(self.method, self.payment_id, out_sum="990.001")
        response = self.post("/mancgi/rkresult", fields)
        self.assert_refused(response)
        self.assertIn(b"OutSum", response.body)

    def test_different_amount_even_when_signed(self):
        fields = self.result_fields(self.method, self.payment_id, out_sum="989.99")
        self.assert_refused(self.post("/mancgi/rkresult", fields))

    def test_unknown_inv_id(self):
        fields = self.result_fields(self.method, 987654)
        response = self.post("/mancgi/rkresult", fields)
        self.assertEqual(response.status, 404)
        self.assert_refused(response)

    def test_missing_field(self):
        for missing in ("OutSum", "InvId", "SignatureValue"):
            with self.subTest(missing=missing):
                fields = self.result_fields(self.method, self.payment_id)
                del fields[missing]
                response = self.post("/mancgi/rkresult", fields)
                self.assertEqual(response.status, 400)
                self.assertIn(missing.encode(), response.body)
                self.assert_refused(response)

    def test_duplicate_key(self):
        fields = self.result_fields(self.method, self.payment_id)
        body = urllib.parse.urlencode(fields) + "&OutSum=1.00"
        response = self.post("/mancgi/rkresult", body)
        self.assertEqual(response.status, 400)
        self.assert_refused(response)

    def test_body_over_64_kib(self):
        fields = self.result_fields(self.method, self.payment_id)
        body = urllib.parse.urlencode(fields) + "&Shp_pad=" + "x" * (65 * 1024)
        response = self.post("/mancgi/rkresult", body)
        self.assertEqual(response.status, 413)
        self.assert_refused(response)

    def test_test_payment_on_a_live_method(self):
        live = self.add_method("md5", test_mode=False, shop="refusals_live")
        payment_id, _ = self.add_payment(live, "990.00")
        fields = self.result_fields(live, payment_id, IsTest="1")
        self.assert_refused(self.post("/mancgi/rkresult", fields), payment_id)
        # The same notification without IsTest is real money and is credited.
        fields = self.result_fields(live, payment_id)
        self.assertEqual(self.post("/mancgi/rkresult", fields).body, f"OK{payment_id}".encode())

    def test_every_refusal_is_journaled(self):
        fields = self.result_fields(self.method, self.payment_id)
        fields["SignatureValue"] = "f" * 32
        self.post("/mancgi/rkresult", fields)
        rows = self.journal(self.payment_id)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][0], "refused")
        self.assertEqual(rows[0][1], 403)

    def test_shp_parameters_are_signed_and_any_prefix_case_works(self):
        shp = {"Shp_item": "hosting", "shp_user": "42", "SHP_Z": "z"}
        fields = self.result_fields(self.method, self.payment_id, shp=shp)
        tampered = dict(fields, shp_user="43")
        self.assert_refused(self.post("/mancgi/rkresult", tampered))
        response = self.post("/mancgi/rkresult", fields)
        self.assertEqual(response.body, f"OK{self.payment_id}".encode())

    def test_get_is_accepted_like_post(self):
        fields = self.result_fields(self.method, self.payment_id, out_sum="990")
        response = self.get("/mancgi/rkresult?" + urllib.parse.urlencode(fields))
        self.assertEqual((response.status, response.body),
                         (200, f"OK{self.payment_id}".encode()))


class ConcurrentRepeats(RkCase):
    def test_twenty_identical_notifications_credit_once(self):
        method = self.add_method("sha256", shop="concurrent")
        payment_id, _ = self.add_payment(method, "1500.50")
        fields = self.result_fields(method, payment_id, out_sum="1500.500000")
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            replies = list(pool.map(lambda _: self.post("/mancgi/rkresult", fields), range(20)))
        for reply in replies:
            self.assertEqual((reply.status, reply.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.status(payment_id), 4)
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        verdicts = [row[0] for row in self.journal(payment_id)]
        self.assertEqual(len(verdicts), 20)
        self.assertEqual(verdicts.count("credited"), 1)
        self.assertEqual(verdicts.count("duplicate"), 19)


class LockedStore(RkCase):
    # A short busy timeout so the lock outlasts it quickly.
    config_lines = ["manager_url = " + MANAGER_URL, "busy_timeout_ms = 500"]

    def test_locked_store_gets_5xx_then_the_retry_is_credited_once(self):
        method = self.add_method("md5", shop="locked")
        payment_id, _ = self.add_payment(method, "990.00")
        fields = self.result_fields(method, payment_id)
        db_path = os.path.join(self.root, "var", "pmrobokassa.db")
        # Another process takes the write lock and keeps it past the 500 ms
        # busy timeout configured for this installation.
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "db.execute('BEGIN EXCLUSIVE')\n"
             "print('locked', flush=True)\n"
             "sys.stdin.readline()\n"
             "db.execute('ROLLBACK')\n", db_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            started = time.monotonic()
            response = self.post("/mancgi/rkresult", fields)
            elapsed = time.monotonic() - started
            self.assertGreaterEqual(response.status, 500, response.body)
            self.assertFalse(response.body.startswith(b"OK"))
            self.assertLess(elapsed, 10.0)
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=10)
            holder.stdin.close()
            holder.stdout.close()
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.journal(payment_id), [])
        retry = self.post("/mancgi/rkresult", fields)
        self.assertEqual((retry.status, retry.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.payment(payment_id)["credits"], "1")


class PaymentPage(RkCase):
    def setUp(self):
        self.method = self.add_method("sha512", shop="page")

    def test_form_is_signed_with_password1_and_status_becomes_in_pay(self):
        payment_id, link = self.add_payment(self.method, "1234.5", "--email", "c@example.com")
        page = self.get(link, headers={"Accept-Language": "en-US,en;q=0.9"})
        self.assertEqual(page.status, 200)
        self.assertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(page.headers["cache-control"], "no-store")
        csp = page.headers["content-security-policy"]
        self.assertIn("form-action " + self.emulator.base_url + ";", csp)
        form = parse_form(page.body.decode())
        self.assertEqual(form.action, self.emulator.base_url + "/Merchant/Index.aspx")
        self.assertEqual(form.method, "POST")
        self.assertEqual(form.fields["OutSum"], "1234.50")
        self.assertEqual(form.fields["InvId"], str(payment_id))
        self.assertEqual(form.fields["MerchantLogin"], "page")
        self.assertEqual(form.fields["IsTest"], "1")
        self.assertEqual(form.fields["Culture"], "en")
        self.assertEqual(form.fields["Encoding"], "utf-8")
        self.assertEqual(form.fields["Email"], "c@example.com")
        expected = digest("sha512", f"page:1234.50:{payment_id}:{self.method['password1']}")
        self.assertEqual(form.fields["SignatureValue"], expected)
        self.assertEqual(self.status(payment_id), 2)

    def test_language_from_billmanager_cookie(self):
        _, link = self.add_payment(self.method, "10")
        page = self.get(link, headers={"Cookie": "billmgrlang5=billmgr:en",
                                       "Accept-Language": "ru"})
        self.assertIn(b'<html lang="en">', page.body)
        self.assertEqual(parse_form(page.body.decode()).fields["Culture"], "en")
        page = self.get(link, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
        self.assertIn(b'<html lang="ru">', page.body)

    def test_wrong_key_is_forbidden_without_a_form(self):
        payment_id, link = self.add_payment(self.method, "10")
        good_key = link.split("key=")[1]
        bad_key = ("0" if good_key[0] != "0" else "1") + good_key[1:]
        for path in (f"/mancgi/rkpayment?elid={payment_id}&key={bad_key}",
                     f"/mancgi/rkpayment?elid={payment_id}"):
            response = self.get(path)
            self.assertEqual(response.status, 403)
            self.assertNotIn(b"<form", response.body)
        self.assertEqual(self.status(payment_id), 1)

    def test_unknown_id_with_its_own_valid_key_is_not_found(self):
        # The key is HMAC-SHA256("rkpayment:ID") under the installation's
        # secret: computed here independently for an id that does not exist.
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))
        secret = db.execute("SELECT value FROM settings WHERE key = 'link_secret'").fetchone()[0]
        db.close()
        missing = 999999
        key = hmac.new(secret, f"rkpayment:{missing}".encode(), "sha256").hexdigest()[:32]
        response = self.get(f"/mancgi/rkpayment?elid={missing}&key={key}")
        self.assertEqual(response.status, 404)
        self.assertNotIn(b"<form", response.body)
        response = self.get(f"/mancgi/rkpayment?elid={missing}&key={key.upper()}")
        self.assertEqual(response.status, 404)

    def test_description_is_escaped(self):
        nasty = "<script>alert(1)</script>\"'&"
        _, link = self.add_payment(self.method, "10", "--description", nasty)
        page = self.get(link).body.decode()
        self.assertNotIn("<script>alert(1)", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;", page)
        self.assertEqual(parse_form(page).fields["Description"], nasty)

    def test_paid_payment_gets_no_form(self):
        payment_id, link = self.add_payment(self.method, "10")
        fields = self.result_fields(self.method, payment_id, out_sum="10.00")
        self.assertEqual(self.post("/mancgi/rkresult", fields).body, f"OK{payment_id}".encode())
        page = self.get(link)
        self.assertEqual(page.status, 200)
        self.assertNotIn(b"<form", page.body)
        self.assertEqual(self.status(payment_id), 4)


    def test_post_works_like_get(self):
        payment_id, link = self.add_payment(self.method, "10")
        query = link.split("?", 1)[1]
        page = self.post("/mancgi/rkpayment", query)
        self.assertEqual(page.status, 200, page.body)
        form = parse_form(page.body.decode())
        self.assertEqual(form.fields["InvId"], str(payment_id))
        self.assertEqual(self.status(payment_id), 2)
        # The key is checked the same way in a body.
        bad = self.post("/mancgi/rkpayment", query[:-1] + ("0" if query[-1] != "0" else "1"))
        self.assertEqual(bad.status, 403)
        self.assertNotIn(b"<form", bad.body)


class StandaloneRecurring(RkCase):
    def test_rkrecurring_is_not_found_without_a_panel_to_keep_the_series(self):
        # Standalone, a series is the admin's (rcpay --parent).
        for path in ("/mancgi/rkrecurring?elid=1", "/mancgi/rkrecurring"):
            response = self.get(path)
            self.assertEqual(response.status, 404, path)
            self.assertNotIn(b"<form", response.body)


class Currency(RkCase):
    """Robokassa charges roubles: a payment in another currency is never
    sent as the same number of roubles, and roubles never credit it."""

    def setUp(self):
        self.method = self.add_method("md5", shop="currency")

    def operations(self, payment_id):
        return [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["login"] == "currency" and op["inv_id"] == str(payment_id)]

    def test_a_usd_payment_gets_a_clear_refusal_and_no_form(self):
        payment_id, link = self.add_payment(self.method, "10.00", "--currency", "USD")
        page = self.get(link, headers={"Accept-Language": "en"})
        self.assertEqual(page.status, 409)
        self.assertNotIn(b"<form", page.body)
        self.assertIn(b"roubles only", page.body)
        self.assertIn(b"10.00 USD", page.body)
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.operations(payment_id), [])
        with open(os.path.join(self.root, "var", "rkpayment.log"), encoding="utf-8") as f:
            self.assertRegex(f.read(), rf"ERROR rkpayment: payment {payment_id} is in USD")
        # A rouble payment of the same method is charged in roubles.
        rub_id, rub_link = self.add_payment(self.method, "10.00")
        form, paid = self.pay_through_gateway(rub_link)
        self.assertNotIn("OutSumCurrency", form.fields)
        self.assertEqual([(op["out_sum"], op["currency"]) for op in self.operations(rub_id)],
                         [("10.00", "RUB")])

    def test_roubles_for_a_usd_payment_are_not_credited(self):
        payment_id, _ = self.add_payment(self.method, "10.00", "--currency", "USD")
        fields = self.result_fields(self.method, payment_id, out_sum="10.000000")
        reply = self.post("/mancgi/rkresult", fields)
        self.assertEqual(reply.status, 409)
        self.assertFalse(reply.body.startswith(b"OK"))
        self.assertEqual(self.status(payment_id), 1)


class ReturnPages(RkCase):
    def setUp(self):
        self.method = self.add_method("sha1", shop="returns")
        self.payment_id, _ = self.add_payment(self.method, "990.00")

    def success_fields(self, out_sum="990.000000", password=None):
        base = f"{out_sum}:{self.payment_id}:{password or self.method['password1']}"
        return {"OutSum": out_sum, "InvId": str(self.payment_id),
                "SignatureValue": digest("sha1", base), "Culture": "en"}

    def test_success_with_bad_signature_is_400(self):
        response = self.post("/mancgi/rksuccess",
                             self.success_fields(password=self.method["password2"]))
        self.assertEqual(response.status, 400)
        self.assertNotIn("location", response.headers)
        self.assertEqual(self.status(self.payment_id), 1)

    def test_success_redirects_to_the_panel_and_changes_nothing(self):
        response = self.post("/mancgi/rksuccess", self.success_fields())
        self.assertEqual(response.status, 302)
        self.assertEqual(response.headers["location"],
                         f"{MANAGER_URL}?func=payment.success&elid={self.payment_id}")
        self.assertEqual(self.status(self.payment_id), 1)

    def test_fail_redirects_to_the_panel_and_changes_nothing(self):
        response = self.post("/mancgi/rkfail", {"OutSum": "990.00", "InvId": str(self.payment_id),
                                                "Culture": "ru"})
        self.assertEqual(response.status, 302)
        self.assertEqual(response.headers["location"],
                         f"{MANAGER_URL}?func=payment.fail&elid={self.payment_id}")
        self.assertEqual(self.status(self.payment_id), 1)

    def test_no_parameter_steers_the_redirect(self):
        evil = {"manager_url": "https://evil.example", "Location": "https://evil.example",
                "func": "x", "elid": "1"}
        for path, fields in (("/mancgi/rksuccess", {**self.success_fields(), **evil}),
                             ("/mancgi/rkfail", {"InvId": str(self.payment_id), **evil})):
            with self.subTest(path=path):
                response = self.post(path, fields)
                self.assertEqual(response.status, 302)
                self.assertTrue(response.headers["location"].startswith(MANAGER_URL + "?"))
                self.assertNotIn("evil", response.headers["location"])
        for bad_id in ("1%0d%0aLocation:%20https://evil.example", "//evil.example", "-1"):
            response = self.get("/mancgi/rkfail?InvId=" + bad_id)
            self.assertEqual(response.status, 400)
            self.assertNotIn("location", response.headers)


class PagesWithoutManagerUrl(RkCase):
    config_lines = []

    def test_success_and_fail_show_pages_in_the_customers_language(self):
        method = self.add_method("md5", shop="nomanager")
        payment_id, _ = self.add_payment(method, "5")
        base = f"5.00:{payment_id}:{method['password1']}"
        for culture, marker in (("ru", "Оплата получена"), ("en", "Payment received")):
            response = self.post("/mancgi/rksuccess", {
                "OutSum": "5.00", "InvId": str(payment_id),
                "SignatureValue": digest("md5", base), "Culture": culture})
            self.assertEqual(response.status, 200)
            self.assertIn(marker, response.body.decode())
            self.assertIn(f'<html lang="{culture}">', response.body.decode())
        for culture, marker in (("ru", "Оплата не завершена"), ("en", "Payment not completed")):
            response = self.post("/mancgi/rkfail", {"InvId": str(payment_id), "Culture": culture})
            self.assertEqual(response.status, 200)
            self.assertIn(marker, response.body.decode())
        self.assertEqual(self.status(payment_id), 1)


if __name__ == "__main__":
    unittest.main()
