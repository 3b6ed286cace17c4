"""Money for a closed invoice and the journal an admin reads: a valid
ResultURL for a cancelled or refunded payment is journaled once as
uncredited and acknowledged; journal.list/journal.show answer "what did
Robokassa send and what did we make of it"; checkpay prunes old entries but
never payments. Also the payment lifetime rkpayment sends as ExpirationDate."""

import datetime
import os
import re
import sqlite3
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import MANAGER_URL, RkCase, rkharness  # noqa: E402

RETENTION_DAYS = 30


class Journal(RkCase):
    config_lines = ["manager_url = " + MANAGER_URL, "checkpay_min_age = 0",
                    "opstate_url = {emulator}/Merchant/WebService/Service.asmx/OpStateExt",
                    "refund_url = {emulator}/RefundService/Refund/Create",
                    f"journal_retention_days = {RETENTION_DAYS}"]

    def entries(self, *filters):
        result = self.module("journal.list", *filters)
        doc = ET.fromstring(result.stdout)
        self.assertEqual(doc.tag, "doc")
        return [{child.tag: child.text or "" for child in entry} for entry in doc.findall("entry")]

    def db(self):
        return sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))

    def cancelled_payment(self, shop):
        """A payment the customer cancelled at Robokassa, as checkpay learns."""
        method = self.add_method("md5", shop=shop)
        payment_id, link = self.add_payment(method, "990.00")
        _, token = self.open_gateway(link)
        rkharness.http("POST", self.emulator.base_url + "/emulator/cancel",
                       data={"token": token}, headers={"Accept": "application/json"})
        self.assertEqual(self.module("checkpay").returncode, 0)
        self.assertEqual(self.status(payment_id), 9)
        return method, payment_id

    def error_lines(self, payment_id):
        log = rkharness._read(os.path.join(self.root, "var", "rkresult.log"))
        return [line for line in log.splitlines()
                if " ERROR " in line and f"payment {payment_id}:" in line]

    def test_money_for_a_cancelled_payment_is_recorded_once_and_never_credited(self):
        method, payment_id = self.cancelled_payment("closed_cancelled")
        fields = self.result_fields(method, payment_id, IsTest="1")
        for _ in range(3):
            reply = self.post("/mancgi/rkresult", fields)
            self.assertEqual((reply.status, reply.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.status(payment_id), 9)
        self.assertEqual(self.payment(payment_id)["credits"], "0")
        verdicts = [row[0] for row in self.journal(payment_id)]
        self.assertEqual(verdicts, ["cancelled", "uncredited", "duplicate", "duplicate"])
        self.assertEqual(len(self.error_lines(payment_id)), 1)

        listed = self.entries("--verdict", "uncredited", "--payment", str(payment_id))
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["payment"], str(payment_id))
        self.assertEqual(listed[0]["source"], "rkresult")
        self.assertIn("status 9 (cancelled)", listed[0]["reason"])
        self.assertIn("not credited", listed[0]["reason"])

    def test_a_repeat_after_a_refund_is_a_duplicate_not_new_money(self):
        # The notification that credited a payment, delivered again after the
        # payment was refunded, is the same money: no alarm for the admin.
        method = self.add_method("sha256", shop="closed_refunded")
        payment_id, link = self.add_payment(method, "100.00")
        _, paid = self.pay_through_gateway(link)
        self.assertTrue(paid["result"]["accepted"])
        refund = self.module("refund", "--payment", str(payment_id))
        self.assertEqual(refund.returncode, 0, refund.stderr)
        self.assertEqual(self.status(payment_id), 6)
        fields = self.result_fields(method, payment_id, out_sum="100.000000", IsTest="1")
        reply = self.post("/mancgi/rkresult", fields)
        self.assertEqual((reply.status, reply.body), (200, f"OK{payment_id}".encode()))
        self.assertEqual(self.status(payment_id), 6)
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        self.assertEqual(self.entries("--payment", str(payment_id), "--verdict", "uncredited"), [])
        self.assertEqual(len(self.entries("--payment", str(payment_id), "--verdict", "duplicate")), 1)

    def test_journal_list_filters_newest_first_and_show_adds_what_arrived(self):
        method = self.add_method("md5", shop="journal_list")
        first, _ = self.add_payment(method, "10.00")
        second, _ = self.add_payment(method, "20.00")
        self.post("/mancgi/rkresult", self.result_fields(method, first, out_sum="10.00"))
        self.post("/mancgi/rkresult", {**self.result_fields(method, second, out_sum="20.00"),
                                       "SignatureValue": "0" * 32})
        everything = self.entries()
        ids = [int(e["id"]) for e in everything]
        self.assertEqual(ids, sorted(ids, reverse=True))
        for entry in everything:
            self.assertEqual(set(entry), {"id", "payment", "source", "verdict", "reason",
                                          "received"})
            self.assertRegex(entry["received"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        for_second = self.entries("--payment", str(second))
        self.assertEqual([e["verdict"] for e in for_second], ["refused"])
        self.assertIn("SignatureValue", for_second[0]["reason"])
        credited = self.entries("--verdict", "credited", "--payment", str(first))
        self.assertEqual(len(credited), 1)
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertEqual(len(self.entries("--since", today)), len(everything))
        self.assertEqual(self.entries("--since", "2999-01-01T00:00"), [])

        shown = ET.fromstring(self.module("journal.show", "--entry", credited[0]["id"]).stdout)
        entry = shown.find("entry")
        self.assertEqual(entry.findtext("verdict"), "credited")
        self.assertIn(f"InvId={first}", entry.findtext("params"))
        self.assertEqual(entry.findtext("reply_status"), "200")
        self.assertEqual(entry.findtext("reply"), f"OK{first}")
        self.assertNotIn(method["password2"], ET.tostring(shown, encoding="unicode"))

        for args in (["journal.show", "--entry", "999999"], ["journal.show", "--entry", "x"],
                     ["journal.show"], ["journal.list", "--since", "2026-02-30"],
                     ["journal.list", "--since", "yesterday"],
                     ["journal.list", "--payment", "0"]):
            with self.subTest(args=args):
                self.assertEqual(self.module(*args, check=False).returncode, 2)

    def test_checkpay_prunes_old_journal_entries_and_never_payments(self):
        method = self.add_method("md5", shop="journal_prune")
        payment_id, _ = self.add_payment(method, "30.00")
        self.post("/mancgi/rkresult", self.result_fields(method, payment_id, out_sum="30.00"))
        self.post("/mancgi/rkresult", self.result_fields(method, payment_id, out_sum="30.00"))
        self.assertEqual([row[0] for row in self.journal(payment_id)], ["credited", "duplicate"])
        with self.db() as db:
            first = db.execute("SELECT min(id) FROM notifications WHERE payment_id = ?",
                               (payment_id,)).fetchone()[0]
            db.execute("UPDATE notifications SET received_at = received_at - ? WHERE id = ?",
                       ((RETENTION_DAYS + 1) * 86400, first))
        self.assertEqual(self.module("checkpay").returncode, 0)
        self.assertEqual([row[0] for row in self.journal(payment_id)], ["duplicate"])
        self.assertEqual(self.status(payment_id), 4)
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        log = rkharness._read(os.path.join(self.root, "var", "pmrobokassa.log"))
        self.assertRegex(log, rf"pruned [0-9]+ journal entries older than {RETENTION_DAYS} days")


class PaymentLifetime(RkCase):
    def test_the_form_carries_expiration_date_when_a_lifetime_is_set(self):
        method = self.add_method("md5", shop="lifetime", payment_lifetime="24")
        _, link = self.add_payment(method, "990.00")
        before = datetime.datetime.now(datetime.timezone.utc)
        form, _ = self.open_gateway(link)  # the emulator takes the form as is
        after = datetime.datetime.now(datetime.timezone.utc)
        value = form.fields["ExpirationDate"]
        self.assertRegex(value, r"^\d{4}-\d\d-\d\dT\d\d:\d\d$")
        until = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(
            tzinfo=datetime.timezone.utc)
        low = (before + datetime.timedelta(hours=24)).replace(second=0, microsecond=0)
        self.assertGreaterEqual(until, low)
        self.assertLessEqual(until, after + datetime.timedelta(hours=24))
        shown = self.module("method.show", "--method", method["id"]).stdout
        self.assertIn("payment_lifetime: 24 h", shown)

        # Past that moment Robokassa (here its emulator) refuses the form:
        # ExpirationDate is not signed, so the same form with an earlier one
        # still passes the signature check and fails on time alone.
        late = dict(form.fields, ExpirationDate="2020-01-01T00:00")
        refused = rkharness.http("POST", form.action, data=late)
        self.assertIn(b'data-code="33"', refused.body)

    def test_no_lifetime_no_expiration_date(self):
        method = self.add_method("md5", shop="no_lifetime")
        _, link = self.add_payment(method, "990.00")
        form, _ = self.open_gateway(link)
        self.assertNotIn("ExpirationDate", form.fields)

    def test_method_add_refuses_a_lifetime_out_of_range(self):
        for bad in ("0", "721", "1.5", "a day"):
            with self.subTest(lifetime=bad):
                result = self.module("method.add", "--name", "m", "--shop-id", "s",
                                     "--password1", "Pass1word", "--password2", "Pass2word",
                                     "--payment-lifetime", bad, check=False)
                self.assertEqual(result.returncode, 2)
                self.assertIn("--payment-lifetime", result.stderr)


if __name__ == "__main__":
    unittest.main()
