"""Auto-payments in panel mode, as BILLmanager drives them: the customer sets
a series up through recurring_script (rkrecurring: the series' first payment
with Recurring=true, its InvId saved in the panel as the series' token once
it is credited), then the panel runs `rcpay --payment ID` for each payment it
creates for the series. mgrctl is the recorded-protocol stand-in, Robokassa
the emulator (its Merchant/Recurring checks the signature and the paid
parent, then calls ResultURL as Robokassa does)."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import rkharness  # noqa: E402
from mgrctl_standin import answer  # noqa: E402
from test_panel import SESSION, SHOP, PanelMode, re_info  # noqa: E402


def re_child_info(payment_id):
    """setpaid's info for a charge Robokassa's recurring interface made."""
    return re.compile(rf"rkresult: OutSum=990\.000000&InvId={payment_id}&SignatureValue=[0-9A-F]+"
                      r"&.*")


class PanelRecurring(PanelMode):
    config_lines = PanelMode.config_lines + ["recurring_url = {emulator}/Merchant/Recurring"]

    def series_info(self, series, status, token="", payment=""):
        return answer("recurring_info", id=series, status=status, token=token, maxamount="0",
                      payment=payment, shop=SHOP["login"])

    def expect_series(self, series, status, token="", payment=""):
        self.mgrctl.expect("payment.recurring.info", [("elid", series)],
                           self.series_info(series, status, token, payment))

    def set_up_series(self, series, first):
        """The customer's set-up through rkrecurring, paid at the emulator;
        returns the form."""
        self.expect_whoami()
        self.expect_series(series, 0, payment=first)
        self.expect_info(first, 1, method_recurring="on")
        self.mgrctl.expect("payment.setinpay", [("elid", first)], answer("ok"))
        # rkresult: credited, then the series' token saved in the panel.
        self.expect_signed_info(first, 2, method_recurring="on")
        self.expect_setpaid(first, re_info(first))
        self.mgrctl.expect("payment.recurring.saveinfo",
                           [("elid", series), ("status", "1"), ("token", first)], answer("ok"))
        form, paid = self.pay_through_gateway(f"/mancgi/rkrecurring?elid={series}&auth={SESSION}")
        self.assertTrue(paid["result"]["accepted"], paid)
        self.assert_protocol_done()
        self.mgrctl.expect_nothing()
        return form

    def expect_charge(self, payment_id, series, token, **method):
        """rcpay for a payment of an active series, then the notification
        Robokassa sends for the charge."""
        self.expect_info(payment_id, 1, recurring=series, method_recurring="on", **method)
        self.expect_series(series, 1, token=token)
        self.mgrctl.expect("payment.setinpay", [("elid", payment_id)], answer("ok"))
        self.expect_signed_info(payment_id, 2, recurring=series, method_recurring="on", **method)
        self.expect_setpaid(payment_id, re_child_info(payment_id))

    def operations(self, inv_id):
        operations = rkharness.http("GET", self.emulator.base_url + "/emulator/operations").json()
        return [op for op in operations
                if op["login"] == SHOP["login"] and op["inv_id"] == str(inv_id)]

    def rcpay(self, payment_id):
        return self.module("rcpay", "--payment", str(payment_id))


class Series(PanelRecurring):
    def test_a_series_set_up_in_the_panel_is_charged_twice_each_credited_once(self):
        series, first = 51, 3201
        form = self.set_up_series(series, first)
        self.assertEqual(form.fields["Recurring"], "true")
        self.assertEqual(form.fields["InvId"], str(first))
        self.assertTrue(self.operations(first)[-1]["recurring"])

        # The second charge carries the method's receipt: Robokassa checks
        # it in the charge's signature as in the payment form's.
        receipts = ({}, {"tax": "vat20", "payment_object": "service"})
        for child, receipt in zip((3202, 3203), receipts):
            self.mgrctl.expect_nothing()
            self.expect_charge(child, series, first, **receipt)
            result = self.rcpay(child)
            self.assertEqual(result.stdout.strip(), f"OK{child}")
            self.assert_protocol_done()
            charges = self.operations(child)
            self.assertEqual(len(charges), 1)
            self.assertEqual(charges[0]["parent"], str(first))
            self.assertEqual("Receipt" in charges[0]["params"], bool(receipt))
            self.assertEqual(self.journal_verdicts(child), ["credited"])
        self.assertEqual(self.journal_verdicts(first), ["credited"])

    def test_the_same_rcpay_twice_charges_once(self):
        series, first, child = 53, 3221, 3222
        self.set_up_series(series, first)
        self.expect_charge(child, series, first)
        self.assertEqual(self.rcpay(child).stdout.strip(), f"OK{child}")
        self.assert_protocol_done()
        # The repeat asks neither the panel nor Robokassa.
        self.mgrctl.expect_nothing()
        again = self.rcpay(child)
        self.assertEqual(again.stdout.strip(), f"already charged: {child}")
        self.assertEqual(self.mgrctl.received(), [])
        self.assertEqual(len(self.operations(child)), 1)
        self.assertEqual(self.journal_verdicts(child), ["credited"])

    def test_a_declined_charge_leaves_the_payment_cancelled_with_the_reason(self):
        # The series' token names a payment Robokassa never took with
        # Recurring=true: Robokassa refuses the charge.
        series, child = 52, 3210
        self.expect_info(child, 1, recurring=series, method_recurring="on")
        self.expect_series(series, 1, token=3299)
        self.mgrctl.expect("payment.setinpay", [("elid", child)], answer("ok"))
        self.mgrctl.expect("payment.setcanceled",
                           [("elid", child),
                            ("info", "rcpay: Robokassa declined the charge: "
                                     "ERROR no paid recurring parent")], answer("ok"))
        result = self.rcpay(child)
        self.assertIn("declined", result.stdout)
        self.assert_protocol_done()
        self.assertEqual(self.operations(child), [])
        # Declined is final: a repeat does not try again.
        self.mgrctl.expect_nothing()
        self.assertIn("already charged", self.rcpay(child).stdout)
        self.assertEqual(self.mgrctl.received(), [])

    def test_a_token_the_panel_refuses_is_saved_on_robokassas_retry_without_a_second_setpaid(self):
        series, first = 54, 3231
        self.expect_whoami()
        self.expect_series(series, 0, payment=first)
        self.expect_info(first, 1, method_recurring="on")
        self.mgrctl.expect("payment.setinpay", [("elid", first)], answer("ok"))
        saveinfo = [("elid", series), ("status", "1"), ("token", first)]
        self.expect_signed_info(first, 2, method_recurring="on")
        self.expect_setpaid(first, re_info(first))
        self.mgrctl.expect("payment.recurring.saveinfo", saveinfo, answer("error_status"),
                           exit_code=1)
        # Robokassa's retry: the payment is paid now, only the token is saved.
        self.expect_signed_info(first, 4, method_recurring="on")
        self.mgrctl.expect("payment.recurring.saveinfo", saveinfo, answer("ok"))
        _, paid = self.pay_through_gateway(f"/mancgi/rkrecurring?elid={series}&auth={SESSION}")
        attempts = paid["result"]["attempts"]
        self.assertEqual([a["status"] for a in attempts], [502, 200])
        self.assertEqual(attempts[1]["body"].strip(), f"OK{first}")
        self.assert_protocol_done()

    def test_rcpay_for_a_payment_of_no_series_is_refused_before_robokassa(self):
        self.expect_info(3230, 1, method_recurring="on")
        result = self.module("rcpay", "--payment", "3230", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("not an auto-payment", result.stderr)
        self.assert_protocol_done()
        self.assertEqual(self.operations(3230), [])


class SetUp(PanelRecurring):
    def test_rkpayment_never_starts_a_series_the_panel_would_not_know(self):
        # The method's switch is on, but only rkrecurring saves a token.
        self.expect_customer(3240, 2, method_recurring="on")
        form, _ = self.open_gateway(f"/mancgi/rkpayment?elid=3240&auth={SESSION}")
        self.assertNotIn("Recurring", form.fields)
        self.assert_protocol_done()

    def test_no_session_is_refused_before_any_call(self):
        page = self.get("/mancgi/rkrecurring?elid=60")
        self.assertEqual(page.status, 403)
        self.assertNotIn(b"<form", page.body)
        self.assertEqual(self.mgrctl.received(), [])

    def test_a_method_without_recurring_or_a_series_not_being_set_up_gets_no_form(self):
        self.expect_whoami()
        self.expect_series(61, 0, payment=3250)
        self.expect_info(3250, 1, method_recurring="off")
        page = self.get(f"/mancgi/rkrecurring?elid=61&auth={SESSION}")
        self.assertEqual(page.status, 409, page.body)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()

        self.mgrctl.expect_nothing()
        self.expect_whoami()
        self.expect_series(62, 1, token=3100, payment=3251)
        page = self.get(f"/mancgi/rkrecurring?elid=62&auth={SESSION}")
        self.assertEqual(page.status, 409, page.body)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()

    def test_a_series_the_panel_names_no_payment_for_is_a_server_error(self):
        self.expect_whoami()
        self.expect_series(63, 0)
        page = self.get(f"/mancgi/rkrecurring?elid=63&auth={SESSION}")
        self.assertEqual(page.status, 502, page.body)
        self.assertNotIn(b"<form", page.body)
        self.assert_protocol_done()


if __name__ == "__main__":
    unittest.main()
