"""pmstripe, stpayment and stwebhook through real lighttpd and the Stripe
emulator (docs/stripe.md)."""

import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rkharness  # noqa: E402

BIN_DIR = os.environ.get("PMROBOKASSA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
STRIPE_EMULATOR = Path(__file__).resolve().parent.parent / "emulator" / "stripe_emulator.py"
MANAGER_URL = "https://billing.example.com/billmgr"
CGI_NAMES = ("stpayment", "stwebhook", "rkpayment", "rkresult")
JSON_TYPE = "application/json; charset=utf-8"


class StripeEmulator(rkharness.EmulatorProcess):
    """tests/emulator/stripe_emulator.py on a free loopback port; its log is
    workdir/stripe-emulator.log."""

    def __init__(self, workdir, retries=3, retry_delay=0.2, timeout=10.0):
        super().__init__(STRIPE_EMULATOR, "stripe-emulator", workdir, retries, retry_delay,
                         timeout)

    def call(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj)
        response = rkharness.http(method, self.base_url + path, data,
                                  headers={"Content-Type": "application/json",
                                           "Accept": "application/json"})
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {response.text}")
        return response.json()


def sign(secret, timestamp, payload):
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload,
                    hashlib.sha256).hexdigest()


def random_key(prefix):
    return prefix + secrets.token_hex(16)


class StripeCase(unittest.TestCase):
    """One installation per test class: MGR5_ROOT, lighttpd, the emulator."""

    extra_config = []
    manager_url = MANAGER_URL

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="st-e2e-")
        cls.root = os.path.join(cls.workdir, "mgr5")
        os.makedirs(os.path.join(cls.root, "etc"))
        cls.stripe = StripeEmulator(os.path.join(cls.workdir, "stripe"))
        cls.stripe.start()
        with open(os.path.join(cls.root, "etc", "pmrobokassa.conf"), "w") as f:
            f.write(cls.config_text())
        cls.web = rkharness.Lighttpd(BIN_DIR, cls.root, os.path.join(cls.workdir, "web"),
                                     cgi_names=CGI_NAMES)
        cls.web.start()
        cls.secrets_used = []

    @classmethod
    def config_text(cls, manager_url=True):
        lines = ["busy_timeout_ms = 5000", "stripe_api_url = " + cls.stripe.base_url,
                 "check_credentials = off", *cls.extra_config]
        if manager_url:
            lines.insert(0, "manager_url = " + MANAGER_URL)
        return "\n".join(lines) + "\n"

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()
        cls.stripe.stop()
        cls.check_no_secret_leaked()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def check_no_secret_leaked(cls):
        """No log, journal row or emulator line carries a key or a secret."""
        texts = []
        for directory in (Path(cls.root) / "var", Path(cls.workdir) / "web",
                          Path(cls.workdir) / "stripe"):
            for path in directory.glob("*.log"):
                texts.append((str(path), path.read_text(errors="replace")))
        db_path = Path(cls.root) / "var" / "pmrobokassa.db"
        if db_path.exists():
            db = sqlite3.connect(db_path)
            try:
                rows = db.execute("SELECT params, reason, reply_body FROM notifications")
                texts.append(("journal", "\n".join("\t".join(map(str, r)) for r in rows)))
            finally:
                db.close()
        for secret in cls.secrets_used:
            for where, text in texts:
                if secret in text:
                    raise AssertionError(f"a secret leaked into {where}")

    # The module -------------------------------------------------------

    def module(self, *args, stdin=None, check=True, program="pmstripe"):
        result = rkharness.run_module(BIN_DIR, self.root, *args, stdin=stdin, program=program)
        if check:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def add_method(self, live=False, register=True, **overrides):
        mode = "live" if live else "test"
        keys = {"secret_key": random_key(f"sk_{mode}_"),
                "publishable_key": random_key(f"pk_{mode}_"),
                "webhook_secret": random_key("whsec_"), **overrides}
        type(self).secrets_used += [keys["secret_key"], keys["webhook_secret"]]
        method_id = self.module("method.add", "--name", "Stripe " + mode,
                                "--secret-key", keys["secret_key"],
                                "--publishable-key", keys["publishable_key"],
                                "--webhook-secret", keys["webhook_secret"]).stdout.split()[0]
        if register:
            self.stripe.call("POST", "/emulator/accounts", {
                "secret_key": keys["secret_key"], "webhook_secret": keys["webhook_secret"],
                "webhook_url": self.web.base_url + "/mancgi/stwebhook"})
        return {"id": method_id, **keys}

    def add_payment(self, method, amount="990.00", *extra):
        out = self.module("payment.add", "--method", method["id"], "--amount", amount,
                          *extra).stdout.splitlines()
        return int(out[0]), out[1]

    def payment(self, payment_id):
        xml = self.module("payment.show", "--payment", str(payment_id)).stdout
        return dict(re.findall(r"<(\w+)>([^<]*)</\1>", xml))

    def status(self, payment_id):
        return int(self.payment(payment_id)["status"])

    def credits(self, payment_id):
        return int(self.payment(payment_id)["credits"])

    def db(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def journal(self, payment_id):
        return self.db("SELECT verdict, reply_status FROM notifications "
                       "WHERE source = 'stwebhook' AND payment_id = ? ORDER BY id", payment_id)

    # HTTP ---------------------------------------------------------------

    def get(self, path):
        return rkharness.http("GET", self.web.base_url + path)

    def webhook(self, payload, header, content_type=JSON_TYPE):
        headers = {"Content-Type": content_type}
        if header is not None:
            headers["Stripe-Signature"] = header
        if isinstance(payload, str):
            payload = payload.encode()
        return rkharness.http("POST", self.web.base_url + "/mancgi/stwebhook", data=payload,
                              headers=headers)

    def signed(self, method, event, timestamp=None, secret=None):
        """(payload, header) for `event` signed as Stripe would."""
        payload = json.dumps(event, indent=2).encode() if isinstance(event, dict) else event
        t = int(time.time()) if timestamp is None else timestamp
        return payload, f"t={t},v1={sign(secret or method['webhook_secret'], t, payload)}"

    @staticmethod
    def event(event_type, obj, live=False):
        return {"id": "evt_" + secrets.token_hex(12), "object": "event",
                "api_version": "2024-06-20", "created": int(time.time()),
                "data": {"object": obj}, "livemode": live, "type": event_type}

    @staticmethod
    def session_object(payment_id, amount_total=99000, currency="rub", **extra):
        return {"id": "cs_test_" + secrets.token_hex(8), "object": "checkout.session",
                "client_reference_id": str(payment_id), "metadata": {"elid": str(payment_id)},
                "amount_total": amount_total, "currency": currency, "payment_status": "paid",
                "payment_intent": "pi_test_" + secrets.token_hex(8), **extra}

    @staticmethod
    def invoice_object(payment_id, amount_paid=99000, currency="rub"):
        return {"id": "in_" + secrets.token_hex(8), "object": "invoice",
                "amount_paid": amount_paid, "currency": currency,
                "metadata": {"elid": str(payment_id)}, "payment_intent": None}

    def checkout(self, link):
        """The customer opens the payment link: 303 to the session's page."""
        response = self.get(link)
        self.assertEqual(response.status, 303, response.text)
        location = response.headers["Location"]
        self.assertTrue(location.startswith(self.stripe.base_url + "/pay/cs_test_"), location)
        return location[len(self.stripe.base_url + "/pay/"):]


class EndToEnd(StripeCase):
    def test_checkout_and_webhook_pay_once(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method, "990.00", "--description", "Hosting <VPS>",
                                            "--email", "user@example.com")
        self.assertTrue(link.startswith(f"/mancgi/stpayment?elid={payment_id}&key="), link)
        self.assertEqual(self.status(payment_id), 1)

        session_id = self.checkout(link)
        self.assertEqual(self.status(payment_id), 2)
        session = next(s for s in self.stripe.call("GET", "/emulator/sessions")
                       if s["id"] == session_id)
        self.assertEqual((session["amount_total"], session["currency"]), (99000, "rub"))
        self.assertEqual(session["client_reference_id"], str(payment_id))
        self.assertEqual(session["metadata"], {"elid": str(payment_id)})
        self.assertEqual(session["customer_email"], "user@example.com")
        self.assertEqual(session["_line_items"],
                         [{"name": "Hosting <VPS>", "unit_amount": 99000, "quantity": 1}])
        self.assertEqual(session["success_url"],
                         f"{MANAGER_URL}?func=payment.success&elid={payment_id}")
        self.assertEqual(session["cancel_url"], f"{MANAGER_URL}?func=payment.fail&elid={payment_id}")

        paid = self.stripe.call("POST", "/emulator/pay", {"session": session_id})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        self.assertEqual(len(paid["delivery"]["attempts"]), 1, paid)
        self.assertEqual(paid["redirect"], f"{MANAGER_URL}?func=payment.success&elid={payment_id}")
        shown = self.payment(payment_id)
        self.assertEqual((shown["status"], shown["credits"]), ("4", "1"))
        self.assertTrue(shown["external_id"].startswith("pi_test_"), shown)
        self.assertEqual(self.journal(payment_id), [("credited", 200)])

        # The link again: a page saying it is paid, and no new session.
        sessions = len(self.stripe.call("GET", "/emulator/sessions"))
        again = self.get(link)
        self.assertEqual(again.status, 200)
        self.assertIn("text/html", again.headers["Content-Type"])
        self.assertEqual(len(self.stripe.call("GET", "/emulator/sessions")), sessions)

    def test_zero_decimal_currency_is_sent_in_whole_units(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method, "1500", "--currency", "JPY")
        session_id = self.checkout(link)
        session = next(s for s in self.stripe.call("GET", "/emulator/sessions")
                       if s["id"] == session_id)
        self.assertEqual((session["amount_total"], session["currency"]), (1500, "jpy"))
        paid = self.stripe.call("POST", "/emulator/pay", {"session": session_id})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        self.assertEqual(self.status(payment_id), 4)
        refused = self.module("payment.add", "--method", method["id"], "--amount", "10.50",
                              "--currency", "JPY", check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--amount", refused.stderr)

    def test_invoice_payment_succeeded_pays_by_metadata_elid(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        result = self.stripe.call("POST", "/emulator/events", {
            "account": method["secret_key"], "type": "invoice.payment_succeeded",
            "object": self.invoice_object(payment_id)})
        self.assertTrue(result["delivery"]["accepted"], result)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))

    def test_payment_failed_is_recorded_and_changes_nothing(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        result = self.stripe.call("POST", "/emulator/events", {
            "account": method["secret_key"], "type": "invoice.payment_failed",
            "object": self.invoice_object(payment_id, amount_paid=0)})
        self.assertTrue(result["delivery"]["accepted"], result)
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.journal(payment_id), [("payment_failed", 200)])
        event_id = result["event"]["id"]
        self.assertEqual(self.db("SELECT verdict FROM stripe_events WHERE event_id = ?", event_id),
                         [("payment_failed",)])

    def test_other_events_get_200_and_change_nothing(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        # One that names our payment, one that names none.
        for obj in ({"id": "pi_x", "object": "payment_intent", "amount": 99000,
                     "currency": "rub", "metadata": {"elid": str(payment_id)}},
                    {"id": "cus_x", "object": "customer", "metadata": {}}):
            result = self.stripe.call("POST", "/emulator/events", {
                "account": method["secret_key"], "type": "payment_intent.succeeded"
                if obj["object"] == "payment_intent" else "customer.created", "object": obj})
            self.assertTrue(result["delivery"]["accepted"], result)
            self.assertEqual(result["delivery"]["attempts"][0]["status"], 200)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (1, 0))

    def test_asynchronous_payment_not_yet_paid_is_not_credited(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        payload, header = self.signed(method, self.event(
            "checkout.session.completed", self.session_object(payment_id,
                                                              payment_status="unpaid")))
        response = self.webhook(payload, header)
        self.assertEqual(response.status, 200, response.text)
        self.assertEqual(self.status(payment_id), 1)

    def test_stripe_refusing_the_session_is_502_and_changes_nothing(self):
        method = self.add_method(register=False)  # the emulator does not know this key
        payment_id, link = self.add_payment(method)
        response = self.get(link)
        self.assertEqual(response.status, 502, response.text)
        self.assertEqual(self.status(payment_id), 1)
        log = Path(self.root, "var", "stpayment.log").read_text()
        self.assertIn("Invalid API Key", log)
        self.assertNotIn(method["secret_key"], log)

    def test_link_with_wrong_key_is_forbidden(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        response = self.get(f"/mancgi/stpayment?elid={payment_id}&key={'0' * 32}")
        self.assertEqual(response.status, 403)
        self.assertNotIn("Location", response.headers)
        self.assertEqual(self.status(payment_id), 1)


class Replays(StripeCase):
    def setUp(self):
        self.method = self.add_method()
        self.payment_id, link = self.add_payment(self.method)
        session_id = self.checkout(link)
        paid = self.stripe.call("POST", "/emulator/pay", {"session": session_id})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        self.event_id = paid["event"]

    def test_replayed_event_gets_200_and_credits_nothing(self):
        for _ in range(3):
            replay = self.stripe.call("POST", "/emulator/replay", {"event": self.event_id})
            self.assertTrue(replay["accepted"], replay)
            self.assertIn("duplicate", replay["attempts"][0]["body"])
        self.assertEqual((self.status(self.payment_id), self.credits(self.payment_id)), (4, 1))
        self.assertEqual([v for v, _ in self.journal(self.payment_id)],
                         ["credited", "duplicate_event", "duplicate_event", "duplicate_event"])

    def test_replay_with_t_older_than_5_minutes_is_400(self):
        # The exact 300 s boundary is unit-tested with a fixed clock
        # (test_stripe_signature.cpp). Here the webhook reads the clock a moment
        # after we do: that lag only makes a past t staler, but brings a future
        # t closer, so the future case keeps a margin for a slow (sanitizer) run.
        for offset in (-301, -3600, +330):
            with self.subTest(offset=offset):
                replay = self.stripe.call("POST", "/emulator/replay", {
                    "event": self.event_id, "timestamp": int(time.time()) + offset})
                self.assertFalse(replay["accepted"], replay)
                self.assertEqual(replay["attempts"][0]["status"], 400)
                self.assertIn("300 s", replay["attempts"][0]["body"])

    def test_a_new_event_with_stale_t_is_400_even_unseen(self):
        payment_id, _ = self.add_payment(self.method)
        payload, header = self.signed(
            self.method, self.event("checkout.session.completed", self.session_object(payment_id)),
            timestamp=int(time.time()) - 301)
        response = self.webhook(payload, header)
        self.assertEqual(response.status, 400)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (1, 0))
        # Within the tolerance it is accepted.
        payload, header = self.signed(
            self.method, self.event("checkout.session.completed", self.session_object(payment_id)),
            timestamp=int(time.time()) - 240)
        self.assertEqual(self.webhook(payload, header).status, 200)
        self.assertEqual(self.credits(payment_id), 1)

    def test_reordered_events_credit_once(self):
        payment_id, _ = self.add_payment(self.method)
        failed = self.event("invoice.payment_failed", self.invoice_object(payment_id, 0))
        completed = self.event("checkout.session.completed", self.session_object(payment_id))
        succeeded = self.event("invoice.payment_succeeded", self.invoice_object(payment_id))
        # Created in the order failed, completed, succeeded; delivered backwards,
        # then the first two again.
        for event, verdict in ((succeeded, "credited"), (completed, "duplicate"),
                               (failed, "payment_failed"), (completed, "duplicate_event"),
                               (failed, "duplicate_event")):
            response = self.webhook(*self.signed(self.method, event))
            self.assertEqual(response.status, 200, response.text)
            self.assertEqual(self.journal(payment_id)[-1][0], verdict)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))

    def test_verbatim_resend_of_the_same_request_changes_nothing(self):
        payment_id, _ = self.add_payment(self.method)
        payload, header = self.signed(
            self.method, self.event("checkout.session.completed", self.session_object(payment_id)))
        statuses = [self.webhook(payload, header).status for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 200])
        self.assertEqual(self.credits(payment_id), 1)


class Forgeries(StripeCase):
    def setUp(self):
        self.method = self.add_method()
        self.payment_id, _ = self.add_payment(self.method)

    def completed(self, **extra):
        return self.event("checkout.session.completed",
                          self.session_object(self.payment_id, **extra))

    def assert_refused(self, response, status=400):
        self.assertEqual(response.status, status, response.text)
        self.assertFalse(response.text.startswith("OK"), response.text)
        self.assertEqual((self.status(self.payment_id), self.credits(self.payment_id)), (1, 0))

    def test_signed_with_another_secret(self):
        payload, header = self.signed(self.method, self.completed(),
                                      secret=random_key("whsec_"))
        self.assert_refused(self.webhook(payload, header))

    def test_signed_with_another_methods_secret(self):
        other = self.add_method()
        payload, header = self.signed(other, self.completed())
        self.assert_refused(self.webhook(payload, header))

    def test_tampered_body(self):
        payload, header = self.signed(self.method, self.completed(amount_total=100))
        tampered = payload.replace(b'"amount_total": 100', b'"amount_total": 99000')
        self.assertNotEqual(payload, tampered)
        self.assert_refused(self.webhook(tampered, header))

    def test_missing_or_malformed_signature_header(self):
        payload, header = self.signed(self.method, self.completed())
        t, v1 = header.split(",")
        for bad in (None, "", v1, t, f"{t}, {v1}", f"{t},{t},{v1}", f"{t},v1=", f"{t},v0={v1[3:]}",
                    f"t=-5,{v1}", f"t=abc,{v1}", f"{t},{v1},"):
            with self.subTest(header=bad):
                self.assert_refused(self.webhook(payload, bad))

    def test_several_v1_one_of_which_matches(self):
        payload, header = self.signed(self.method, self.completed())
        t, v1 = header.split(",")
        response = self.webhook(payload, f"{t},v1={'0' * 64},{v1},v0={'1' * 64}")
        self.assertEqual(response.status, 200, response.text)
        self.assertEqual(self.credits(self.payment_id), 1)

    def test_malformed_json_even_when_signed(self):
        for body in (b"{", b"not json", b'{"id": "evt_1", "id": "evt_2"}', b"[]", b"\xff\xfe",
                     b'{"id": "evt_1", "type": "checkout.session.completed"}'):
            with self.subTest(body=body):
                payload, header = self.signed(self.method, body)
                self.assert_refused(self.webhook(payload, header))

    def test_wrong_content_type(self):
        payload, header = self.signed(self.method, self.completed())
        self.assert_refused(self.webhook(payload, header, "application/x-www-form-urlencoded"))

    def test_get_is_405(self):
        response = rkharness.http("GET", self.web.base_url + "/mancgi/stwebhook")
        self.assertEqual(response.status, 405)

    def test_body_over_64_kib_is_413(self):
        event = self.completed(description="x" * (65 * 1024))
        self.assert_refused(self.webhook(*self.signed(self.method, event)), 413)

    def test_unknown_payment_is_400(self):
        event = self.event("checkout.session.completed", self.session_object(987654321))
        self.assertEqual(self.webhook(*self.signed(self.method, event)).status, 400)

    def test_amount_or_currency_mismatch_even_when_signed(self):
        for extra in ({"amount_total": 98999}, {"amount_total": "99000"},
                      {"amount_total": 99000.0}, {"currency": "usd"}):
            with self.subTest(extra=extra):
                self.assert_refused(self.webhook(*self.signed(self.method, self.completed(**extra))))

    def test_live_event_for_a_test_method(self):
        event = self.event("checkout.session.completed", self.session_object(self.payment_id),
                           live=True)
        self.assert_refused(self.webhook(*self.signed(self.method, event)))

    def test_client_reference_id_and_metadata_disagree(self):
        obj = self.session_object(self.payment_id)
        obj["metadata"]["elid"] = str(self.payment_id + 1)
        self.assert_refused(self.webhook(*self.signed(self.method, self.event(
            "checkout.session.completed", obj))))

    def test_every_refusal_is_journaled(self):
        payload, header = self.signed(self.method, self.completed(), secret=random_key("whsec_"))
        self.webhook(payload, header)
        # Unsigned, the body is not read: the entry names no payment.
        self.assertEqual(self.journal(self.payment_id), [])
        last = self.db("SELECT payment_id, verdict, reply_status, reason FROM notifications "
                       "WHERE source = 'stwebhook' ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(last[:3], (None, "refused", 400))
        self.assertIn("Stripe-Signature", last[3])

    def test_an_unsigned_body_is_journaled_as_a_bounded_prefix(self):
        event = self.completed(description="x" * (60 * 1024))
        payload, header = self.signed(self.method, event, secret=random_key("whsec_"))
        self.assertGreater(len(payload), 60 * 1024)
        for _ in range(20):
            self.assert_refused(self.webhook(payload, header))
        rows = self.db("SELECT length(params), reason FROM notifications "
                       "WHERE source = 'stwebhook' ORDER BY id DESC LIMIT 20")
        for length, reason in rows:
            self.assertLessEqual(length, 1024 + 32)
            self.assertIn("matches no Stripe method", reason)
        # Signed, the whole body is kept.
        self.assertEqual(self.webhook(*self.signed(self.method, event)).status, 200)
        self.assertEqual(self.db("SELECT length(params) FROM notifications WHERE payment_id = ? "
                                 "ORDER BY id DESC LIMIT 1", self.payment_id)[0][0], len(payload))

    def test_forgeries_are_answered_at_once_while_another_process_holds_the_lock(self):
        # busy_timeout_ms is 5 s: a request that waited for the lock would
        # take that long and then get 503.
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"),
                             isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            payload, header = self.signed(self.method, self.completed())
            t = header.split(",")[0]
            forged = self.signed(self.method, self.completed(), secret=random_key("whsec_"))
            stale = self.signed(self.method, self.completed(), timestamp=int(time.time()) - 600)
            for bad in ((payload, None), (payload, t + ",v1=" + "0" * 64), forged,
                        (payload + b" ", header), stale):
                with self.subTest(header=bad[1]):
                    started = time.monotonic()
                    response = self.webhook(*bad)
                    took = time.monotonic() - started
                    self.assertEqual(response.status, 400, response.text)
                    self.assertLess(took, 1.0)
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assertEqual(self.webhook(payload, header).status, 200)
        self.assertEqual(self.credits(self.payment_id), 1)


class ConcurrentDuplicates(StripeCase):
    def test_twenty_copies_of_one_event_credit_once(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        payload, header = self.signed(method, self.event("checkout.session.completed",
                                                         self.session_object(payment_id)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: self.webhook(payload, header).status, range(20)))
        self.assertEqual(statuses, [200] * 20)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))
        verdicts = [v for v, _ in self.journal(payment_id)]
        self.assertEqual(verdicts.count("credited"), 1, verdicts)
        self.assertEqual(verdicts.count("duplicate_event"), 19, verdicts)

    def test_different_events_for_one_payment_at_once_credit_once(self):
        method = self.add_method()
        payment_id, _ = self.add_payment(method)
        requests = []
        for i in range(16):
            event = (self.event("checkout.session.completed", self.session_object(payment_id))
                     if i % 2 else
                     self.event("invoice.payment_succeeded", self.invoice_object(payment_id)))
            requests.append(self.signed(method, event))
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda r: self.webhook(*r).status, requests))
        self.assertEqual(statuses, [200] * 16)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))

    def test_emulator_retries_until_2xx(self):
        # The first attempts find lighttpd refusing (a payment that does not
        # exist yet); the retry after payment.add with that id is credited.
        method = self.add_method()
        explicit_id = 770001
        obj = self.session_object(explicit_id)
        result = {}

        def deliver():
            result.update(self.stripe.call("POST", "/emulator/events", {
                "account": method["secret_key"], "type": "checkout.session.completed",
                "object": obj, "retries": 20}))

        thread = threading.Thread(target=deliver)
        thread.start()
        # Once the first attempt has been refused (and journaled), the payment appears.
        deadline = time.monotonic() + 30
        while not self.journal(explicit_id):
            self.assertLess(time.monotonic(), deadline, "no delivery attempt arrived")
            time.sleep(0.02)
        self.add_payment(method, "990.00", "--id", str(explicit_id))
        thread.join(timeout=60)
        attempts = result["delivery"]["attempts"]
        self.assertTrue(result["delivery"]["accepted"], result)
        self.assertGreater(len(attempts), 1)
        self.assertEqual(attempts[0]["status"], 400)
        self.assertEqual(self.credits(explicit_id), 1)


class Validation(StripeCase):
    def pmvalidate(self, **fields):
        doc = "<doc>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</doc>"
        return self.module("pmvalidate", stdin=doc)

    def error_object(self, result):
        match = re.search(r'<error type="value" object="([^"]+)"', result.stdout)
        return match.group(1) if match else None

    def valid(self, mode="test"):
        return {"secret_key": f"sk_{mode}_" + "a1" * 12, "publishable_key": f"pk_{mode}_" + "b2" * 12,
                "webhook_secret": "whsec_" + "c3" * 16}

    def test_valid_forms_are_echoed(self):
        for mode in ("test", "live"):
            result = self.pmvalidate(**self.valid(mode))
            self.assertIsNone(self.error_object(result), result.stdout)
            self.assertIn(f"<secret_key>sk_{mode}_", result.stdout)

    def test_mixed_live_and_test_keys_are_refused_naming_publishable_key(self):
        for secret_mode, publishable_mode in (("live", "test"), ("test", "live")):
            fields = dict(self.valid(secret_mode),
                          publishable_key=self.valid(publishable_mode)["publishable_key"])
            result = self.pmvalidate(**fields)
            self.assertEqual(self.error_object(result), "publishable_key", result.stdout)
            self.assertNotIn(fields["secret_key"], result.stdout.split("<error")[1])

    def test_malformed_keys_are_refused_naming_the_field(self):
        cases = [("secret_key", "pk_test_" + "a" * 24), ("secret_key", "sk_test_"),
                 ("secret_key", "sk_prod_" + "a" * 24), ("secret_key", "rk_test_" + "a" * 24),
                 ("secret_key", "sk_test_abc def ghijkl"), ("secret_key", ""),
                 ("publishable_key", "sk_test_" + "a" * 24), ("publishable_key", "pk_test_ab"),
                 ("webhook_secret", "whsec"), ("webhook_secret", "sec_" + "a" * 24),
                 ("webhook_secret", "whsec_!!!!!!!!!!!!")]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                result = self.pmvalidate(**dict(self.valid(), **{field: value}))
                self.assertEqual(self.error_object(result), field, result.stdout)
                self.assertIn(f"<msg>{field}:", result.stdout)

    def test_missing_field_is_named(self):
        for field in ("secret_key", "publishable_key", "webhook_secret"):
            fields = self.valid()
            del fields[field]
            self.assertEqual(self.error_object(self.pmvalidate(**fields)), field)

    def test_method_add_refuses_with_exit_2_naming_the_option_and_stores_nothing(self):
        before = self.db("SELECT count(*) FROM methods")[0][0] if os.path.exists(
            os.path.join(self.root, "var", "pmrobokassa.db")) else 0
        secret = "sk_live_" + secrets.token_hex(12)
        type(self).secrets_used.append(secret)
        result = self.module("method.add", "--name", "Mixed", "--secret-key", secret,
                             "--publishable-key", "pk_test_" + "b" * 24,
                             "--webhook-secret", "whsec_" + "c" * 24, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--publishable-key", result.stderr)
        self.assertNotIn(secret, result.stderr)
        after = self.db("SELECT count(*) FROM methods")[0][0] if os.path.exists(
            os.path.join(self.root, "var", "pmrobokassa.db")) else 0
        self.assertEqual(before, after)

    def test_unreadable_xml_is_exit_2(self):
        self.assertEqual(self.module("pmvalidate", stdin="<doc>", check=False).returncode, 2)

    def test_config(self):
        out = self.module("config").stdout
        for element in ("<redirect>on</redirect>", "<notneedprofile>on</notneedprofile>",
                        "<pmvalidate>on</pmvalidate>",
                        "<payment_script>/mancgi/stpayment</payment_script>"):
            self.assertIn(element, out)

    def test_method_show_masks_secrets(self):
        method = self.add_method()
        out = self.module("method.show", "--method", method["id"]).stdout
        self.assertNotIn(method["secret_key"], out)
        self.assertNotIn(method["webhook_secret"], out)
        self.assertIn("/mancgi/stwebhook", out)


class Sessions(StripeCase):
    """One Checkout Session per payment at a time, and delayed payment methods."""

    def sessions_of(self, payment_id):
        return [s for s in self.stripe.call("GET", "/emulator/sessions")
                if s["client_reference_id"] == str(payment_id)]

    def stwebhook_log(self):
        return Path(self.root, "var", "stwebhook.log").read_text()

    def test_two_visits_open_one_session(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        first = self.checkout(link)
        second = self.checkout(link)
        self.assertEqual(first, second)
        self.assertEqual(len(self.sessions_of(payment_id)), 1)
        paid = self.stripe.call("POST", "/emulator/pay", {"session": first})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))

    def test_visits_at_once_open_one_session(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(lambda _: self.get(link), range(6)))
        self.assertEqual({r.status for r in responses}, {303})
        self.assertEqual(len({r.headers["Location"] for r in responses}), 1)
        self.assertEqual(len(self.sessions_of(payment_id)), 1)

    def test_a_session_near_its_expiry_is_expired_at_stripe_before_another(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        first = self.checkout(link)
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))
        with db:
            db.execute("UPDATE stripe_sessions SET expires_at = ? WHERE session_id = ?",
                       (int(time.time()) + 60, first))
        db.close()
        second = self.checkout(link)
        self.assertNotEqual(first, second)
        states = {s["id"]: s["status"] for s in self.sessions_of(payment_id)}
        self.assertEqual(states, {first: "expired", second: "open"})
        self.assertEqual(self.checkout(link), second)
        # The old page can no longer take money.
        response = rkharness.http("POST", self.stripe.base_url + "/emulator/pay",
                                  json.dumps({"session": first}),
                                  headers={"Content-Type": "application/json",
                                           "Accept": "application/json"})
        self.assertEqual(response.status, 409)

    def test_a_second_paid_intent_is_recorded_and_logged_at_error_level(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        paid = self.stripe.call("POST", "/emulator/pay", {"session": self.checkout(link)})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        first_intent = self.payment(payment_id)["external_id"]
        # A session opened before (another installation's stpayment, an
        # older version) and paid too.
        other = self.session_object(payment_id)
        result = self.stripe.call("POST", "/emulator/events", {
            "account": method["secret_key"], "type": "checkout.session.completed",
            "object": other})
        self.assertTrue(result["delivery"]["accepted"], result)
        self.assertIn("second payment", result["delivery"]["attempts"][0]["body"])
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))
        self.assertEqual(self.payment(payment_id)["external_id"], first_intent)
        self.assertEqual(self.db("SELECT verdict, payment_intent FROM stripe_events "
                                 "WHERE event_id = ?", result["event"]["id"]),
                         [("paid_twice", other["payment_intent"])])
        self.assertEqual(self.journal(payment_id)[-1], ("paid_twice", 200))
        errors = [line for line in self.stwebhook_log().splitlines() if " ERROR " in line]
        self.assertTrue(any(other["payment_intent"] in line and f"payment {payment_id}" in line
                            for line in errors), errors)

    def test_a_delayed_payment_is_credited_once_when_it_succeeds(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        session_id = self.checkout(link)
        paid = self.stripe.call("POST", "/emulator/pay", {"session": session_id, "delayed": True})
        self.assertTrue(paid["delivery"]["accepted"], paid)
        self.assertEqual(self.status(payment_id), 2)
        self.assertEqual(self.journal(payment_id), [("pending", 200)])
        # Back on the link meanwhile: a page, and no second session.
        page = self.get(link)
        self.assertEqual(page.status, 200, page.text)
        self.assertIn("Stripe", page.text)
        self.assertEqual(len(self.sessions_of(payment_id)), 1)

        settled = self.stripe.call("POST", "/emulator/settle_delayed",
                                   {"session": session_id, "succeeded": True})
        self.assertTrue(settled["delivery"]["accepted"], settled)
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (4, 1))
        replay = self.stripe.call("POST", "/emulator/replay", {"event": settled["event"]})
        self.assertTrue(replay["accepted"], replay)
        self.assertEqual(self.credits(payment_id), 1)
        self.assertEqual([v for v, _ in self.journal(payment_id)],
                         ["pending", "credited", "duplicate_event"])

    def test_a_failed_delayed_payment_is_recorded_and_the_customer_may_pay_again(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        session_id = self.checkout(link)
        self.stripe.call("POST", "/emulator/pay", {"session": session_id, "delayed": True})
        failed = self.stripe.call("POST", "/emulator/settle_delayed",
                                  {"session": session_id, "succeeded": False})
        self.assertTrue(failed["delivery"]["accepted"], failed)
        self.assertEqual(self.db("SELECT verdict FROM stripe_events WHERE event_id = ?",
                                 failed["event"]), [("payment_failed",)])
        self.assertEqual((self.status(payment_id), self.credits(payment_id)), (2, 0))
        self.assertNotEqual(self.checkout(link), session_id)


class WithoutManagerUrl(StripeCase):
    """The method was set up, then manager_url went missing from the configuration."""

    def set_manager_url(self, present):
        with open(os.path.join(self.root, "etc", "pmrobokassa.conf"), "w") as f:
            f.write(self.config_text(manager_url=present))

    def tearDown(self):
        self.set_manager_url(True)

    def test_the_customer_is_told_the_method_is_not_available(self):
        method = self.add_method()
        payment_id, link = self.add_payment(method)
        self.set_manager_url(False)
        response = rkharness.http("GET", self.web.base_url + link,
                                  headers={"Accept-Language": "en"})
        self.assertEqual(response.status, 503, response.text)
        self.assertIn("text/html", response.headers["Content-Type"])
        self.assertIn("not available", response.text)
        self.assertNotIn("manager_url", response.text)
        self.assertEqual(self.status(payment_id), 1)
        self.assertEqual(self.sessions_of_any(), 0)
        log = Path(self.root, "var", "stpayment.log").read_text()
        self.assertTrue(any(" ERROR " in line and "manager_url" in line
                            for line in log.splitlines()), log)

    def sessions_of_any(self):
        return len(self.stripe.call("GET", "/emulator/sessions"))

    def test_the_admin_is_told_where_it_can_be_fixed(self):
        method = self.add_method()
        self.set_manager_url(False)
        shown = self.module("method.show", "--method", method["id"]).stdout
        self.assertIn("WARNING: manager_url", shown)
        refused = self.module("method.add", "--name", "Another",
                              "--secret-key", "sk_test_" + "a1" * 12,
                              "--publishable-key", "pk_test_" + "b2" * 12,
                              "--webhook-secret", "whsec_" + "c3" * 16, check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("manager_url", refused.stderr)
        doc = ("<doc><secret_key>sk_test_" + "a1" * 12 + "</secret_key><publishable_key>pk_test_"
               + "b2" * 12 + "</publishable_key><webhook_secret>whsec_" + "c3" * 16
               + "</webhook_secret></doc>")
        validated = self.module("pmvalidate", stdin=doc).stdout
        self.assertIn('<error type="value" object="manager_url"', validated)


class BesideRobokassa(StripeCase):
    extra_config = ["checkpay_min_age = 0", "opstate_url = http://127.0.0.1:9/OpStateExt"]

    def test_each_module_refuses_the_others_payments_cleanly(self):
        stripe_method = self.add_method()
        stripe_payment, stripe_link = self.add_payment(stripe_method)
        robokassa = self.module("method.add", "--name", "Robokassa", "--shop-id", "shop",
                                "--password1", "Passw0rdOne", "--password2", "Passw0rdTwo",
                                "--test-mode", program="pmrobokassa").stdout.split()[0]
        out = self.module("payment.add", "--method", robokassa, "--amount", "10.00",
                          program="pmrobokassa").stdout.splitlines()
        robokassa_payment, robokassa_link = int(out[0]), out[1]

        # Robokassa's tools do not see the Stripe method.
        listed = self.module("method.list", program="pmrobokassa").stdout
        self.assertNotIn("Stripe", listed)
        self.assertEqual(self.module("payment.add", "--method", stripe_method["id"], "--amount",
                                     "1.00", program="pmrobokassa", check=False).returncode, 2)
        self.assertEqual(self.module("payment.add", "--method", robokassa, "--amount", "1.00",
                                     check=False).returncode, 2)

        # Each payment link works only through its own module's CGI.
        rk_link_for_stripe = stripe_link.replace("/stpayment?", "/rkpayment?")
        self.assertEqual(self.get(rk_link_for_stripe).status, 404)
        st_link_for_robokassa = robokassa_link.replace("/rkpayment?", "/stpayment?")
        self.assertEqual(self.get(st_link_for_robokassa).status, 404)
        self.assertEqual(self.get(robokassa_link).status, 200)

        # A Stripe event naming the Robokassa payment, and a ResultURL naming the Stripe one.
        event = self.event("checkout.session.completed",
                           self.session_object(robokassa_payment, amount_total=1000))
        self.assertEqual(self.webhook(*self.signed(stripe_method, event)).status, 400)
        result = rkharness.http("POST", self.web.base_url + "/mancgi/rkresult",
                                data={"OutSum": "990.00", "InvId": str(stripe_payment),
                                      "SignatureValue": "0" * 32})
        self.assertEqual(result.status, 404, result.text)
        self.assertEqual(self.status(robokassa_payment), 2)
        self.assertEqual(self.status(stripe_payment), 1)

        # checkpay asks Robokassa only about Robokassa payments: with the
        # Stripe payment in status 2 and the Robokassa one too, only the
        # latter is tried (and fails: nothing listens on port 9).
        self.checkout(stripe_link)
        self.assertEqual(self.status(stripe_payment), 2)
        checkpay = self.module("checkpay", program="pmrobokassa", check=False)
        self.assertIn(f'<payment id="{robokassa_payment}"', checkpay.stdout)
        self.assertNotIn(f'<payment id="{stripe_payment}"', checkpay.stdout)


if __name__ == "__main__":
    unittest.main()
