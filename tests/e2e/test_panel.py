"""Panel mode (`billing = panel`): the CGIs read and change BILLmanager's
payments through mgrctl instead of our store, as ISPsystem's own payment
modules do: payment.info as the module, the customer's session checked
apart with whoami, return pages to the panel's own manager_url.

No BILLmanager runs here, so mgrctl is the recorded-protocol stand-in
(tests/lib/mgrctl_standin.py): each test lists the exact calls BILLmanager
should see, in order, with the panel's recorded answers, and fails on any
other call. Everything else is real: lighttpd, the four CGIs, the Robokassa
emulator signing and notifying as Robokassa does. docs/panel-mode.md lists
the same calls for a reader."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
from decimal import Decimal

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import BIN_DIR, MANAGER_URL, RkCase, digest, rkharness  # noqa: E402
import mgrctl_standin  # noqa: E402  (tests/lib, on the path through rkcase)
from mgrctl_standin import answer  # noqa: E402

SESSION = "8f3c1a9e0b7d4c2a9e1f"
# The panel's own URL as payment.info gives it; MANAGER_URL is the config's.
PANEL_URL = "https://my.panel.example.net/billmgr"
SHOP = {"login": "panel_shop", "password1": "PanelPass1", "password2": "PanelPass2",
        "hash": "sha256"}


class PanelMode(RkCase):
    config_lines = RkCase.config_lines + [
        "billing = panel", "mgrctl_timeout = 5", "checkpay_min_age = 0",
        "opstate_url = {emulator}/Merchant/WebService/Service.asmx/OpStateExt"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mgrctl = mgrctl_standin.StandIn(os.path.join(cls.workdir, "panel"))
        with open(os.path.join(cls.root, "etc", "pmrobokassa.conf"), "a") as f:
            f.write(f"mgrctl = {cls.mgrctl.path}\n")
        cls.emulator.register_shop({
            "login": SHOP["login"], "password1": SHOP["password1"],
            "password2": SHOP["password2"], "hash": SHOP["hash"],
            "result_url": cls.web.base_url + "/mancgi/rkresult",
            "success_url": cls.web.base_url + "/mancgi/rksuccess",
            "fail_url": cls.web.base_url + "/mancgi/rkfail",
            "url_method": "POST", "test_mode": True})
        # BILLmanager runs `config` when it starts; in panel mode that
        # creates the local store (the journal and the write lock).
        result = rkharness.run_module(BIN_DIR, cls.root, "config")
        assert result.returncode == 0, result.stderr
        cls.config_answer = result.stdout

    def setUp(self):
        self.mgrctl.expect_nothing()

    def tearDown(self):
        self.assertEqual(self.mgrctl.violations(), [], "calls outside the recorded protocol")

    # The protocol ------------------------------------------------------

    def info(self, payment_id, status, amount="990.00", module="pmrobokassa", iso="RUB",
             manager_url=PANEL_URL, **method):
        values = {"id": payment_id, "status": status, "amount": amount,
                  "description": "Hosting & domain <b>", "module": module, "iso": iso,
                  "currency_name": {"RUB": "Russian Ruble", "USD": "US Dollar"}.get(iso, iso),
                  "manager_url": manager_url or "",
                  "shop": SHOP["login"], "password1": SHOP["password1"],
                  "password2": SHOP["password2"], "hash": SHOP["hash"], "test_mode": "on",
                  "gateway": self.emulator.base_url + "/Merchant/Index.aspx",
                  "email": "ivan@example.com", "password3": "", "sno": "", "tax": "",
                  "payment_object": "", "recurring": "", "method_recurring": "off"}
        values.update(method)
        # The recorded answer is XML: the values go in escaped.
        escaped = {k: str(v).replace("&", "&amp;").replace("<", "&lt;") for k, v in values.items()}
        text = answer("payment_info", **escaped)
        if not manager_url:
            text = re.sub(r"\s*<manager_url></manager_url>", "", text)
        return text

    def expect_info(self, payment_id, status, **kwargs):
        """payment.info as the module calls it: no auth."""
        self.mgrctl.expect("payment.info", [("elid", payment_id)],
                           self.info(payment_id, status, **kwargs))

    def expect_whoami(self, stdout=None, exit_code=0, session=SESSION):
        self.mgrctl.expect("whoami", [("auth", session)],
                           stdout or answer("whoami", user=7, account=5), exit_code)

    def expect_customer(self, payment_id, status, **kwargs):
        """rkpayment: the session checked with whoami, then the payment read
        as the module."""
        self.expect_whoami()
        self.expect_info(payment_id, status, **kwargs)

    def expect_listing(self, *in_pay):
        """Each run starts by listing: the panel's payment methods, then the
        Robokassa method's payments in status 2."""
        self.mgrctl.expect("paymethod", [], answer("paymethod_list"))
        rows = "".join(answer("payment_list_elem", id=pid, amount="990.00") for pid in in_pay)
        self.mgrctl.expect("payment", [("filter", "on"), ("status", "2"), ("paymethod", "3")],
                           answer("payment_list", rows=rows))

    def expect_signed_info(self, payment_id, status, **kwargs):
        """rkresult's two reads of a signed notification's payment: one to
        check the signature without the write lock, one under it."""
        self.expect_info(payment_id, status, **kwargs)
        self.expect_info(payment_id, status, **kwargs)

    def expect_setpaid(self, payment_id, info, stdout=None, exit_code=0):
        self.mgrctl.expect("payment.setpaid",
                           [("elid", payment_id), ("info", info), ("externalid", payment_id)],
                           stdout or answer("ok"), exit_code)

    def notification(self, payment_id, out_sum="990.000000", password=None, **extra):
        method = {"password2": SHOP["password2"], "hash": SHOP["hash"]}
        return self.result_fields(method, payment_id, out_sum, password=password, **extra)

    def assert_protocol_done(self):
        self.assertEqual(self.mgrctl.pending(), 0, "recorded calls that never came")

    def journal_verdicts(self, payment_id):
        return [row[0] for row in self.journal(payment_id)]


class Customer(PanelMode):
    def test_config_in_panel_mode_offers_only_what_panel_mode_does(self):
        self.assertIn("<redirect>on</redirect>", self.config_answer)
        self.assertIn("<payment_script>/mancgi/rkpayment</payment_script>", self.config_answer)
        self.assertIn("<checkpay>on</checkpay>", self.config_answer)
        # Refunds are BILLmanager's rfset; auto-payments its rcpay, set up
        # through recurring_script.
        for feature in ("refund", "rfset", "recurring", "rcpay"):
            self.assertIn(f"<{feature}>on</{feature}>", self.config_answer)
        self.assertIn("<recurring_script>/mancgi/rkrecurring</recurring_script>",
                      self.config_answer)
        self.assertTrue(os.path.exists(os.path.join(self.root, "var", "pmrobokassa.db")))

    def test_customer_pays_end_to_end_and_the_panel_sees_each_call_once(self):
        pid = 3101
        # rkpayment: the customer's session, the payment as the module, 1 -> 2.
        self.expect_customer(pid, 1)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        # rkresult: the payment as Robokassa's notification finds it (for
        # the signature, without the lock), again under the lock, then paid.
        self.expect_signed_info(pid, 2)
        self.expect_setpaid(pid, re_info(pid))
        # rksuccess: the method's Password #1 for the customer's return.
        self.expect_info(pid, 4)

        link = f"/mancgi/rkpayment?elid={pid}&auth={SESSION}"
        form, paid = self.pay_through_gateway(link)
        fields = form.fields
        self.assertEqual(fields["MerchantLogin"], SHOP["login"])
        self.assertEqual(fields["OutSum"], "990.00")
        self.assertEqual(fields["InvId"], str(pid))
        self.assertEqual(fields["Description"], "Hosting & domain <b>")
        self.assertEqual(fields["SignatureValue"],
                         digest("sha256", f"{SHOP['login']}:990.00:{pid}:{SHOP['password1']}"))
        self.assertEqual(fields["IsTest"], "1")
        self.assertEqual(fields["Email"], "ivan@example.com")
        self.assertTrue(paid["result"]["accepted"], paid)
        self.assertEqual(paid["result"]["attempts"][-1]["body"].strip(), f"OK{pid}")

        # The customer's browser comes back signed with Password #1.
        back = self.post("/mancgi/rksuccess", paid["redirect"]["fields"])
        self.assertEqual(back.status, 302)
        self.assertEqual(back.headers["Location"],
                         f"{PANEL_URL}?func=payment.success&elid={pid}")
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(pid), ["credited"])
        # Only whoami carried the session; payment.info never did.
        calls = self.mgrctl.received()
        self.assertEqual([c for c in calls if any(SESSION in a for a in c)],
                         [["-m", "billmgr", "-o", "xml", "whoami", f"auth={SESSION}"]])

        # No call carried a password: the panel's answers hold them, our
        # calls never repeat them.
        for call in self.mgrctl.received():
            for secret in (SHOP["password1"], SHOP["password2"]):
                self.assertFalse(any(secret in arg for arg in call), call)

    def test_the_session_may_come_from_the_panels_cookie(self):
        # BILLmanager's own cookie, "SESSION" or "SESSION:suffix".
        for cookie in (f"billmgrlang5=billmgr:en; billmgrses5={SESSION}:en",
                       f"billmgrses5={SESSION}"):
            self.mgrctl.expect_nothing()
            self.expect_customer(3108, 4)
            page = self.get("/mancgi/rkpayment?elid=3108", headers={"Cookie": cookie})
            self.assertEqual(page.status, 200, page.body)
            self.assert_protocol_done()

    def test_post_to_the_payment_script_works_like_get(self):
        # A panel may open payment_script with a form POST (body
        # form-urlencoded, session in the cookie or the body).
        pid = 3110
        self.expect_customer(pid, 1)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        page = self.post("/mancgi/rkpayment", {"elid": str(pid)},
                         headers={"Cookie": f"billmgrses5={SESSION}"})
        self.assertEqual(page.status, 200, page.body)
        self.assertIn(b'<form id="pay" method="POST"', page.body)
        self.assertIn(f'name="InvId" value="{pid}"'.encode(), page.body)
        self.assert_protocol_done()
        self.mgrctl.expect_nothing()
        self.expect_customer(pid, 2)
        page = self.post("/mancgi/rkpayment", {"elid": str(pid), "auth": SESSION})
        self.assertEqual(page.status, 200, page.body)
        self.assertIn(b'<form id="pay" method="POST"', page.body)
        self.assert_protocol_done()

    def test_the_customers_session_does_not_see_the_methods_passwords(self):
        # What the panel models: the module's own payment.info carries the
        # method's private fields, the customer's session does not get them
        # (so a module reading the payment as the customer could never pay).
        for params, visible in (([("elid", 3111)], True),
                                ([("elid", 3111), ("auth", SESSION)], False)):
            self.mgrctl.expect_nothing()
            self.mgrctl.expect("payment.info", params, self.info(3111, 1))
            result = subprocess.run([self.mgrctl.path, "-m", "billmgr", "-o", "xml",
                                     "payment.info", *[f"{k}={v}" for k, v in params]],
                                    capture_output=True, text=True, timeout=30, check=True)
            for secret in (SHOP["password1"], SHOP["password2"]):
                self.assertEqual(secret in result.stdout, visible, params)
            self.assertIn(f"<shop_id>{SHOP['login']}</shop_id>", result.stdout)

    def test_a_paid_payments_link_shows_it_paid_without_a_change(self):
        self.expect_customer(3102, 4)
        page = self.get(f"/mancgi/rkpayment?elid=3102&auth={SESSION}")
        self.assertEqual(page.status, 200)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()

    def test_no_session_is_refused_before_any_call(self):
        for query in ("elid=3103", "elid=3103&auth=", "elid=3103&auth=x%27%3Bid",
                      "elid=3103&key=0123456789abcdef0123456789abcdef"):
            page = self.get("/mancgi/rkpayment?" + query)
            self.assertEqual(page.status, 403, query)
            self.assertNotIn(b"<form", page.body)
        self.assertEqual(self.mgrctl.received(), [])

    def test_a_session_the_panel_does_not_know_sees_nothing(self):
        # whoami answering an error, or without <user id=...>: 403, and the
        # payment is never read.
        for stdout, exit_code in ((answer("whoami_expired"), 1), (answer("whoami_anonymous"), 0),
                                  ('<?xml version="1.0"?>\n<doc><user name="x"/></doc>\n', 0)):
            self.mgrctl.expect_nothing()
            self.expect_whoami(stdout, exit_code)
            page = self.get(f"/mancgi/rkpayment?elid=3104&auth={SESSION}")
            self.assertEqual(page.status, 403, stdout)
            self.assertNotIn(b"<form", page.body)
            self.assertNotIn(b"990", page.body)
            self.assert_protocol_done()

    def test_a_whoami_that_fails_otherwise_is_a_server_error(self):
        self.expect_whoami(answer("error_status"), 1)
        page = self.get(f"/mancgi/rkpayment?elid=3112&auth={SESSION}")
        self.assertEqual(page.status, 502)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()

    def test_unknown_and_foreign_payments_are_not_found(self):
        self.expect_whoami()
        self.mgrctl.expect("payment.info", [("elid", 3105)], answer("error_missing", id=3105),
                           exit_code=1)
        self.expect_customer(3106, 1, module="pmstripe")
        self.assertEqual(self.get(f"/mancgi/rkpayment?elid=3105&auth={SESSION}").status, 404)
        self.assertEqual(self.get(f"/mancgi/rkpayment?elid=3106&auth={SESSION}").status, 404)
        self.assert_protocol_done()

    def test_rksuccess_with_a_bad_signature_is_refused_after_one_lookup(self):
        # docs/interface.md §4: bad signature, 400 page, no status change.
        self.expect_info(3109, 4)
        fields = {"OutSum": "990.000000", "InvId": "3109", "Culture": "en",
                  "SignatureValue": digest("sha256", f"990.000000:3109:{SHOP['password2']}")}
        page = self.post("/mancgi/rksuccess", fields)
        self.assertEqual(page.status, 400)
        self.assertNotIn("Location", page.headers)
        self.assert_protocol_done()

    def test_rkfail_returns_to_the_panels_own_url(self):
        self.expect_info(3107, 2)
        reply = self.post("/mancgi/rkfail", {"OutSum": "990.00", "InvId": "3107"})
        self.assertEqual(reply.status, 302)
        self.assertEqual(reply.headers["Location"], f"{PANEL_URL}?func=payment.fail&elid=3107")
        self.assert_protocol_done()

    def test_return_pages_use_the_configs_url_only_when_the_panel_gives_none(self):
        self.expect_info(3113, 2, manager_url=None)
        reply = self.post("/mancgi/rkfail", {"OutSum": "990.00", "InvId": "3113"})
        self.assertEqual(reply.headers["Location"], f"{MANAGER_URL}?func=payment.fail&elid=3113")
        self.expect_info(3113, 4, manager_url=None)
        fields = {"OutSum": "990.000000", "InvId": "3113",
                  "SignatureValue": digest("sha256", f"990.000000:3113:{SHOP['password1']}")}
        reply = self.post("/mancgi/rksuccess", fields)
        self.assertEqual(reply.headers["Location"],
                         f"{MANAGER_URL}?func=payment.success&elid=3113")
        # A manager_url that is no http(s) URL is the panel's error: 502,
        # never a redirect built from it.
        self.expect_info(3113, 2, manager_url="javascript:alert(1)")
        reply = self.post("/mancgi/rkfail", {"OutSum": "990.00", "InvId": "3113"})
        self.assertEqual(reply.status, 502)
        self.assertNotIn("Location", reply.headers)
        self.assert_protocol_done()


class Receipts(PanelMode):
    def test_a_panel_form_carries_a_receipt_of_the_payment_signed_and_accepted(self):
        pid = 3140
        receipt_settings = {"sno": "usn_income", "tax": "vat20", "payment_object": "service"}
        self.expect_customer(pid, 1, **receipt_settings)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        self.expect_signed_info(pid, 2, **receipt_settings)
        self.expect_setpaid(pid, re_info(pid))

        form, paid = self.pay_through_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        receipt_field = form.fields["Receipt"]
        receipt = json.loads(urllib.parse.unquote(receipt_field))
        self.assertEqual(receipt, {"sno": "usn_income", "items": [
            {"name": "Hosting & domain <b>", "quantity": 1, "sum": 990.00, "tax": "vat20",
             "payment_object": "service"}]})
        self.assertEqual(sum(Decimal(str(item["sum"])) for item in receipt["items"]),
                         Decimal(form.fields["OutSum"]))
        # Robokassa's init signature with a receipt: MerchantLogin:OutSum:InvId:Receipt:Password#1,
        # the receipt as it is sent (URL-encoded); the emulator checked the same.
        self.assertEqual(form.fields["SignatureValue"],
                         digest("sha256", f"{SHOP['login']}:990.00:{pid}:{receipt_field}:"
                                          f"{SHOP['password1']}"))
        self.assertTrue(paid["result"]["accepted"], paid)
        self.assert_protocol_done()

    def test_a_method_without_a_vat_rate_sends_no_receipt(self):
        pid = 3141
        self.expect_customer(pid, 2)
        form, _ = self.open_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        self.assertNotIn("Receipt", form.fields)
        self.assert_protocol_done()

    def test_receipt_settings_the_panel_holds_wrongly_are_a_server_error(self):
        pid = 3142
        self.expect_customer(pid, 1, tax="vat18")
        page = self.get(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        self.assertEqual(page.status, 502, page.body)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()


class Currency(PanelMode):
    """Robokassa charges roubles: a payment in another currency is never
    charged as the same number of roubles, and never credited from them."""

    def test_a_usd_payment_gets_no_form_and_stays_new(self):
        pid = 3120
        self.expect_customer(pid, 1, iso="USD", amount="10.00")
        page = self.get(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        self.assertEqual(page.status, 409)
        self.assertNotIn(b"<form", page.body)
        self.assertIn(b"USD", page.body)
        self.assert_protocol_done()  # no setinpay
        operations = rkharness.http("GET", self.emulator.base_url + "/emulator/operations").json()
        self.assertEqual([op for op in operations if op["inv_id"] == str(pid)], [])
        with open(os.path.join(self.root, "var", "rkpayment.log"), encoding="utf-8") as f:
            self.assertRegex(f.read(), rf"ERROR rkpayment: payment {pid} is in USD")

    def test_roubles_for_a_usd_payment_are_not_credited(self):
        pid = 3121
        self.expect_signed_info(pid, 2, iso="USD", amount="990.00")
        reply = self.post("/mancgi/rkresult", self.notification(pid))
        self.assertEqual(reply.status, 409)
        self.assertFalse(reply.body.startswith(b"OK"))
        self.assert_protocol_done()  # no setpaid
        self.assertEqual(self.journal_verdicts(pid), ["refused"])

    def test_a_payment_info_without_a_currency_is_a_server_error(self):
        self.expect_customer(3122, 1, iso="")
        page = self.get(f"/mancgi/rkpayment?elid=3122&auth={SESSION}")
        self.assertEqual(page.status, 502)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()


def re_info(payment_id):
    """payment.setpaid's info: the notification as received (no secrets)."""
    return re.compile(rf"rkresult: OutSum=990\.000000&InvId={payment_id}&SignatureValue=[0-9A-F]+"
                      r"&Fee=0\.00&.*&IsTest=1")


class Notifications(PanelMode):
    def test_a_repeated_notification_is_acknowledged_without_a_second_setpaid(self):
        self.expect_signed_info(3201, 4)
        reply = self.post("/mancgi/rkresult", self.notification(3201))
        self.assertEqual((reply.status, reply.body), (200, b"OK3201"))
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(3201), ["duplicate"])

    def test_refusals_change_nothing_in_the_panel(self):
        # A forged one is read once, outside the lock; signed ones twice.
        cases = [
            (self.notification(3202, password="WrongPass9"), 403, self.expect_info),
            (self.notification(3202, out_sum="990.01"), 400, self.expect_signed_info),
            (self.notification(3202, IsTest="2"), 400, self.expect_signed_info),
        ]
        for fields, status, expect in cases:
            self.mgrctl.expect_nothing()
            expect(3202, 2)
            reply = self.post("/mancgi/rkresult", fields)
            self.assertEqual(reply.status, status, reply.body)
            self.assertFalse(reply.body.startswith(b"OK"))
            self.assert_protocol_done()
        # A live method refuses a test payment.
        self.mgrctl.expect_nothing()
        self.expect_signed_info(3202, 2, test_mode="off")
        reply = self.post("/mancgi/rkresult", self.notification(3202, IsTest="1"))
        self.assertEqual(reply.status, 400)
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(3202),
                         ["refused", "amount_mismatch", "refused", "refused"])

    def test_cancelled_in_the_panel_is_journaled_uncredited_not_credited(self):
        self.expect_signed_info(3203, 9)
        reply = self.post("/mancgi/rkresult", self.notification(3203))
        # Recorded, so Robokassa may stop retrying; nothing asked of the panel.
        self.assertEqual((reply.status, reply.body), (200, b"OK3203"))
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(3203), ["uncredited"])

    def test_unknown_payment_and_a_method_the_panel_holds_wrongly(self):
        self.mgrctl.expect("payment.info", [("elid", 3204)], answer("error_missing", id=3204),
                           exit_code=1)
        self.assertEqual(self.post("/mancgi/rkresult", self.notification(3204)).status, 404)
        # Password #2 equal to #1 in the panel: our side is wrong, so 502
        # and Robokassa keeps the money's notification coming.
        self.expect_info(3205, 2, password1=SHOP["password2"])
        reply = self.post("/mancgi/rkresult", self.notification(3205))
        self.assertEqual(reply.status, 502)
        self.assertNotIn(SHOP["password2"].encode(), reply.body)
        self.assert_protocol_done()

    def test_a_setpaid_the_panel_refuses_is_retried_by_robokassa_and_credited_once(self):
        pid = 3206
        self.expect_customer(pid, 1)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        self.expect_signed_info(pid, 2)
        self.expect_setpaid(pid, re_info(pid), answer("error_status"), exit_code=1)
        # The emulator retries like Robokassa; the panel takes it this time.
        self.expect_signed_info(pid, 2)
        self.expect_setpaid(pid, re_info(pid))
        _, paid = self.pay_through_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        attempts = paid["result"]["attempts"]
        self.assertEqual([a["status"] for a in attempts], [502, 200])
        self.assertFalse(attempts[0]["body"].startswith("OK"))
        self.assertEqual(attempts[1]["body"].strip(), f"OK{pid}")
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(pid), ["failed", "credited"])

    def test_a_hanging_mgrctl_is_cut_off_and_answered_non_ok(self):
        self.mgrctl.expect("payment.info", [("elid", 3207)], self.info(3207, 2), sleep=10)
        reply = self.post("/mancgi/rkresult", self.notification(3207))
        self.assertEqual(reply.status, 502)
        self.assertFalse(reply.body.startswith(b"OK"))
        self.assertEqual(self.journal_verdicts(3207), ["failed"])

    def test_a_mgrctl_that_answers_but_does_not_exit_is_cut_off_too(self):
        # Its answer is complete, but the call has not ended: nothing is set
        # paid on it, and Robokassa is told to retry.
        self.mgrctl.expect("payment.info", [("elid", 3209)], self.info(3209, 2), linger=30)
        reply = self.post("/mancgi/rkresult", self.notification(3209))
        self.assertEqual(reply.status, 502)
        self.assertFalse(reply.body.startswith(b"OK"))
        self.assertEqual(self.journal_verdicts(3209), ["failed"])
        self.assert_protocol_done()

    def test_concurrent_notifications_for_one_payment_set_it_paid_once(self):
        pid = 3208
        # The write lock orders them: one sees status 2 under it and sets it
        # paid, each later one sees 4. payment.info answers 4 once setpaid
        # has been called; a second setpaid is a violation.
        setpaid = self.mgrctl.standing("payment.setpaid", [
            ("elid", pid), ("info", re.compile(r"rkresult: .*")), ("externalid", pid)],
            answer("ok"), once=True)
        self.mgrctl.standing("payment.info", [("elid", pid)], self.info(pid, 2), after=setpaid,
                             stdout_after=self.info(pid, 4))
        fields = self.notification(pid)
        replies = []

        def send():
            replies.append(self.post("/mancgi/rkresult", fields))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted((r.status, r.body) for r in replies), [(200, b"OK3208")] * 6)
        self.assertEqual(self.mgrctl.standing_count(setpaid), 1)
        self.assertEqual(sorted(self.journal_verdicts(pid)), ["credited"] + ["duplicate"] * 5)


class CheckPay(PanelMode):
    """checkpay asks Robokassa about every payment of a Robokassa method the
    panel lists in status 2, and about those rkpayment sent there that no
    notification settled, and settles them through the same book."""

    def open_gateway_for(self, pid):
        self.expect_customer(pid, 1)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        _, token = self.open_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        return token

    def cancel_and_check_it_is_cancelled(self, pid, token):
        """The customer cancels at Robokassa; checkpay asks and cancels it
        in the panel."""
        rkharness.http("POST", self.emulator.base_url + "/emulator/cancel",
                       data={"token": token}, headers={"Accept": "application/json"})
        self.expect_listing(pid)
        self.expect_info(pid, 2)
        self.expect_info(pid, 2)
        self.mgrctl.expect("payment.setcanceled", [("elid", pid), ("info", "checkpay")],
                           answer("ok"))
        self.assertIn(f'<payment id="{pid}" result="cancelled"/>', self.checkpay())
        self.assert_protocol_done()

    def checkpay(self):
        result = self.module("checkpay", check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_a_lost_result_url_is_settled_by_checkpay_once(self):
        pid = 3301
        token = self.open_gateway_for(pid)
        paid = rkharness.http("POST", self.emulator.base_url + "/emulator/pay",
                              data={"token": token, "lose_result": "1"},
                              headers={"Accept": "application/json"}).json()
        self.assertIsNone(paid["result"])
        op_key = [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["inv_id"] == str(pid)][-1]["op_key"]
        # checkpay: the list, the payment and its settings, OpStateExt, then
        # under the lock the status again and setpaid with Robokassa's OpKey.
        self.expect_listing(pid)
        self.expect_info(pid, 2)
        self.expect_info(pid, 2)
        self.mgrctl.expect("payment.setpaid", [
            ("elid", pid),
            ("info", f"checkpay: State=100&OutSum=990.00&OpKey={op_key}"),
            ("externalid", op_key)], answer("ok"))
        self.assertIn(f'<payment id="{pid}" result="credited"/>', self.checkpay())
        self.assert_protocol_done()
        # Settled: the next run lists nothing in pay and asks about nothing.
        self.mgrctl.expect_nothing()
        self.expect_listing()
        self.assertNotIn("<payment ", self.checkpay())
        self.assert_protocol_done()

    def test_a_payment_rkpayment_never_saw_is_settled_by_checkpay(self):
        # Sent to Robokassa some other way (the stock module before the
        # switch, another host): the panel lists it in status 2, checkpay
        # asks and credits it once.
        pid = 3307
        fields = {"MerchantLogin": SHOP["login"], "OutSum": "990.00", "InvId": str(pid),
                  "Description": "x", "IsTest": "1", "Culture": "en",
                  "SignatureValue": digest("sha256",
                                           f"{SHOP['login']}:990.00:{pid}:{SHOP['password1']}")}
        page = rkharness.http("POST", self.emulator.base_url + "/Merchant/Index.aspx",
                              data=urllib.parse.urlencode(fields).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        token = re.search(rb'name="token" value="([0-9a-f]+)"', page.body).group(1).decode()
        rkharness.http("POST", self.emulator.base_url + "/emulator/pay",
                       data={"token": token, "lose_result": "1"},
                       headers={"Accept": "application/json"})
        op_key = [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["inv_id"] == str(pid)][-1]["op_key"]
        self.expect_listing(pid)
        self.expect_info(pid, 2)
        self.expect_info(pid, 2)
        self.mgrctl.expect("payment.setpaid", [
            ("elid", pid),
            ("info", f"checkpay: State=100&OutSum=990.00&OpKey={op_key}"),
            ("externalid", op_key)], answer("ok"))
        self.assertIn(f'<payment id="{pid}" result="credited"/>', self.checkpay())
        self.assert_protocol_done()
        self.assertEqual(self.journal_verdicts(pid), ["credited"])

    def test_a_listed_payment_of_another_module_is_dropped_not_failed(self):
        pid = 3308
        self.expect_listing(pid)
        self.expect_info(pid, 2, module="pmstripe")
        self.assertIn(f'<payment id="{pid}" result="not_robokassa"/>', self.checkpay())
        self.assert_protocol_done()
        self.mgrctl.expect_nothing()
        self.expect_listing()
        self.assertNotIn("<payment ", self.checkpay())
        self.assert_protocol_done()

    def test_a_panel_that_cannot_list_fails_the_run_but_known_payments_are_asked(self):
        pid = 3309
        token = self.open_gateway_for(pid)
        rkharness.http("POST", self.emulator.base_url + "/emulator/cancel",
                       data={"token": token}, headers={"Accept": "application/json"})
        self.mgrctl.expect("paymethod", [], answer("error_access"), exit_code=1)
        self.expect_info(pid, 2)
        self.expect_info(pid, 2)
        self.mgrctl.expect("payment.setcanceled", [("elid", pid), ("info", "checkpay")],
                           answer("ok"))
        result = self.module("checkpay", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("<list error=", result.stdout)
        self.assertIn(f'<payment id="{pid}" result="cancelled"/>', result.stdout)
        self.assert_protocol_done()

    def test_a_payment_the_panel_set_in_pay_itself_is_asked_about(self):
        pid = 3304
        # BILLmanager may move a payment to 2 before it redirects: no
        # setinpay then, but checkpay must still know about it.
        self.expect_customer(pid, 2)
        _, token = self.open_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        self.cancel_and_check_it_is_cancelled(pid, token)

    def test_cancelled_at_robokassa_is_cancelled_in_the_panel(self):
        pid = 3302
        self.cancel_and_check_it_is_cancelled(pid, self.open_gateway_for(pid))

    def test_a_panel_that_fails_for_one_payment_stops_no_other(self):
        # docs/interface.md §3: a failed call leaves that payment as it was, is
        # logged, does not stop the others; exit non-zero.
        first, second = 3305, 3306
        self.open_gateway_for(first)
        token = self.open_gateway_for(second)
        rkharness.http("POST", self.emulator.base_url + "/emulator/cancel",
                       data={"token": token}, headers={"Accept": "application/json"})
        self.expect_listing(first, second)
        self.mgrctl.expect("payment.info", [("elid", first)], answer("error_status"),
                           exit_code=1)
        self.expect_info(second, 2)
        self.expect_info(second, 2)
        self.mgrctl.expect("payment.setcanceled", [("elid", second), ("info", "checkpay")],
                           answer("ok"))
        result = self.module("checkpay", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f'<payment id="{first}" error=', result.stdout)
        self.assertIn(f'<payment id="{second}" result="cancelled"/>', result.stdout)
        self.assert_protocol_done()
        # The failed one is still on the list: the next run asks again (and
        # drops it, as the panel has settled it meanwhile).
        self.mgrctl.expect_nothing()
        self.expect_listing()
        self.expect_info(first, 4)
        self.assertIn(f'<payment id="{first}" result="settled_elsewhere"/>', self.checkpay())
        self.assert_protocol_done()

    def test_a_payment_settled_by_its_notification_is_not_asked_about(self):
        pid = 3303
        self.open_gateway_for(pid)
        self.expect_signed_info(pid, 2)
        self.expect_setpaid(pid, re.compile(r"rkresult: .*"))
        reply = self.post("/mancgi/rkresult", self.notification(pid, IsTest="1"))
        self.assertEqual(reply.body, f"OK{pid}".encode())
        self.assert_protocol_done()
        self.mgrctl.expect_nothing()
        self.expect_listing()
        self.assertNotIn("<payment ", self.checkpay())
        self.assert_protocol_done()


class Modes(unittest.TestCase):
    """Panel mode is what the shipped configuration sets; a root without a
    configuration file stays standalone."""

    def test_a_bare_root_is_standalone(self):
        with tempfile.TemporaryDirectory(prefix="rk-bare-") as root:
            config = rkharness.run_module(BIN_DIR, root, "config")
            self.assertEqual(config.returncode, 0, config.stderr)
            for feature in ("refund", "recurring"):
                self.assertNotIn(f"<{feature}>", config.stdout)
            # Standalone: the store's own payments, no mgrctl anywhere.
            method = rkharness.run_module(
                BIN_DIR, root, "method.add", "--name", "R", "--shop-id", "bare",
                "--password1", "BarePass1", "--password2", "BarePass2")
            self.assertEqual(method.returncode, 0, method.stderr)
            payment = rkharness.run_module(BIN_DIR, root, "payment.add", "--method",
                                           method.stdout.split()[0], "--amount", "10.00")
            self.assertEqual(payment.returncode, 0, payment.stderr)
            link = payment.stdout.splitlines()[1]
            env = {"PATH": os.environ["PATH"], "MGR5_ROOT": root, "REQUEST_METHOD": "GET",
                   "QUERY_STRING": link.split("?", 1)[1]}
            page = subprocess.run([os.path.join(BIN_DIR, "rkpayment")], env=env,
                                  capture_output=True, text=True, timeout=30, check=False)
            self.assertTrue(page.stdout.startswith("Status: 200"), page.stdout[:300])
            self.assertIn('name="MerchantLogin" value="bare"', page.stdout)

    def test_the_shipped_configuration_is_panel_mode(self):
        shipped = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "pmrobokassa.conf")
        with open(shipped, encoding="utf-8") as f:
            self.assertRegex(f.read(), r"(?m)^billing = panel$")


class AdminCommands(PanelMode):
    def test_store_only_commands_refuse_in_panel_mode_naming_the_setting(self):
        for args in (["refund", "--payment", "1"], ["rcpay", "--payment", "2", "--parent", "1"]):
            result = self.module(*args, check=False)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn("billing", result.stderr)
            self.assertIn("panel mode", result.stderr)
        self.assertEqual(self.mgrctl.received(), [])


class ForgedFlood(PanelMode):
    """Forged notifications must not hold the store's write lock while the
    panel answers: rkresult reads the payment and checks the signature
    first, and takes the lock only for a signed one (and, briefly, to
    journal a refusal)."""

    def test_a_forged_flood_beside_a_slow_panel_delays_no_genuine_notification(self):
        genuine = list(range(3401, 3407))
        forged_pid = 3400
        for pid in genuine:
            setpaid = self.mgrctl.standing("payment.setpaid", [
                ("elid", pid), ("info", re.compile(r"rkresult: .*")), ("externalid", pid)],
                answer("ok"), sleep=0.5, once=True)
            self.mgrctl.standing("payment.info", [("elid", pid)], self.info(pid, 2), sleep=0.5,
                                 after=setpaid, stdout_after=self.info(pid, 4))
        self.mgrctl.standing("payment.info", [("elid", forged_pid)], self.info(forged_pid, 2),
                             sleep=0.5)
        forged = dict(self.notification(forged_pid), SignatureValue="0" * 64)
        stop = threading.Event()
        forged_replies, senders = [], []

        def flood():
            # About five forged requests a second, each its own connection.
            while not stop.is_set():
                sender = threading.Thread(target=lambda: forged_replies.append(
                    self.post("/mancgi/rkresult", forged).status))
                sender.start()
                senders.append(sender)
                stop.wait(0.2)

        flooder = threading.Thread(target=flood)
        flooder.start()
        replies = []
        try:
            stop.wait(2.0)  # the flood is under way before the first genuine one
            for pid in genuine:
                replies.append(self.post("/mancgi/rkresult", self.notification(pid)))
        finally:
            stop.set()
            flooder.join()
        self.assertEqual([(r.status, r.body) for r in replies],
                         [(200, f"OK{pid}".encode()) for pid in genuine])
        for sender in senders:
            sender.join()
        self.assertGreaterEqual(len(forged_replies), 10)
        self.assertNotIn(200, forged_replies)
        for pid in genuine:
            self.assertEqual(self.journal_verdicts(pid), ["credited"])


class PanelRefunds(PanelMode):
    """rfset: BILLmanager refunds a paid payment through the module; the
    amount is reserved in the store before Robokassa's Refund API is
    called, and a refund Robokassa is still processing is followed by
    checkpay."""

    config_lines = PanelMode.config_lines + [
        "refund_url = {emulator}/RefundService/Refund/Create"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator.register_shop({
            "login": SHOP["login"], "password1": SHOP["password1"],
            "password2": SHOP["password2"], "password3": "PanelPass3", "hash": SHOP["hash"],
            "result_url": cls.web.base_url + "/mancgi/rkresult",
            "success_url": cls.web.base_url + "/mancgi/rksuccess",
            "fail_url": cls.web.base_url + "/mancgi/rkfail",
            "url_method": "POST", "test_mode": True})

    def faults(self, **faults):
        return rkharness.http("POST", self.emulator.base_url + "/emulator/faults",
                              data=json.dumps(faults),
                              headers={"Content-Type": "application/json"}).json()

    def refunded_at_robokassa(self, pid):
        return [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["inv_id"] == str(pid)][-1]["refunded"]

    def paid(self, pid, **method):
        """A payment the customer paid at Robokassa and rkresult credited."""
        self.expect_customer(pid, 1, **method)
        self.mgrctl.expect("payment.setinpay", [("elid", pid)], answer("ok"))
        self.expect_signed_info(pid, 2, **method)
        self.expect_setpaid(pid, re.compile(r"rkresult: .*"))
        _, paid = self.pay_through_gateway(f"/mancgi/rkpayment?elid={pid}&auth={SESSION}")
        self.assertTrue(paid["result"]["accepted"])
        self.assert_protocol_done()
        self.mgrctl.expect_nothing()

    def rfset(self, pid, amount, **method):
        self.expect_info(pid, 4, password3="PanelPass3", **method)
        doc = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc>"
               f"<source_payment>{pid}</source_payment>"
               f"<payment_paymethodamount>-{amount}</payment_paymethodamount>"
               f"<payment_description>Refund of {pid}</payment_description></doc>")
        return self.module("rfset", stdin=doc, check=False)

    def test_a_partial_then_a_full_refund(self):
        pid = 3501
        self.paid(pid)
        first = self.rfset(pid, "300.00")
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        self.assertIn("<ok/>", first.stdout)
        self.assertEqual(self.refunded_at_robokassa(pid), "300.00")
        rest = self.rfset(pid, "690.00")
        self.assertEqual(rest.returncode, 0, rest.stdout + rest.stderr)
        self.assertEqual(self.refunded_at_robokassa(pid), "990.00")
        self.assert_protocol_done()

    def test_the_refund_receipt_repeats_the_line_and_vat_rkpayment_sent(self):
        pid = 3504
        receipt = {"tax": "vat20", "sno": "usn_income", "payment_object": "service"}
        self.paid(pid, **receipt)
        first = self.rfset(pid, "990.00", **receipt)
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        op_key = [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["inv_id"] == str(pid)][-1]["op_key"]
        items = [r["items"] for r in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/refunds").json()
            if r["opKey"] == op_key][-1]
        self.assertEqual(len(items), 1, items)
        self.assertEqual(items[0]["Tax"], "vat20")
        self.assertEqual(items[0]["Cost"], 990.0)
        self.assert_protocol_done()

    def test_an_over_refund_is_refused_before_any_call(self):
        pid = 3502
        self.paid(pid)
        self.assertEqual(self.rfset(pid, "600.00").returncode, 0)
        calls = self.faults()["refund_calls"]
        over = self.rfset(pid, "390.01")
        self.assertEqual(over.returncode, 2)
        self.assertIn('<error type="value" object="payment_paymethodamount">', over.stdout)
        self.assertIn("390.00", over.stdout)
        self.assertEqual(self.faults()["refund_calls"], calls)
        self.assertEqual(self.refunded_at_robokassa(pid), "600.00")

    def test_a_processing_refund_is_followed_to_its_end(self):
        pid = 3503
        self.paid(pid)
        self.faults(refund_label="processing")
        try:
            first = self.rfset(pid, "100.00")
            second = self.rfset(pid, "200.00")
        finally:
            self.faults(refund_label="finished")
        self.assertEqual((first.returncode, second.returncode), (0, 0))
        self.expect_listing()
        pending = self.module("checkpay").stdout
        self.assertEqual(pending.count('result="processing"'), 2, pending)
        # Robokassa finishes both: checkpay records them done.
        self.faults(settle_refunds="finished")
        self.expect_listing()
        self.assertEqual(self.module("checkpay").stdout.count('result="done"'), 2)
        # A third it cancels: recorded, logged for the admin, amount freed.
        self.faults(refund_label="processing")
        try:
            third = self.rfset(pid, "50.00")
        finally:
            self.faults(refund_label="finished")
        self.assertEqual(third.returncode, 0)
        self.faults(settle_refunds="canceled")
        self.expect_listing()
        self.assertIn('result="cancelled"', self.module("checkpay").stdout)
        with open(os.path.join(self.root, "var", "pmrobokassa.log")) as f:
            self.assertRegex(f.read(), r"ERROR checkpay: Robokassa cancelled refund .* of payment "
                                       + str(pid))
        self.expect_listing()
        self.assertNotIn("<refund ", self.module("checkpay").stdout)
        self.assert_protocol_done()


if __name__ == "__main__":
    unittest.main()
