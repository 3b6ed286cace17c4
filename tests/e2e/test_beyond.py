"""Beyond the redirect (docs/interface.md §5): checkpay through OpStateExt,
refunds, recurring payments and receipts, end to end against the emulator."""

import json
import os
import re
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import BIN_DIR, FORM_TYPE, RkCase, digest, parse_form, rkharness  # noqa: E402


class Beyond(RkCase):
    config_lines = [
        "checkpay_min_age = 0",
        "opstate_url = {emulator}/Merchant/WebService/Service.asmx/OpStateExt",
        "refund_url = {emulator}/RefundService/Refund/Create",
        "recurring_url = {emulator}/Merchant/Recurring",
    ]

    def emulator_operation(self, shop, inv_id):
        operations = rkharness.http("GET", self.emulator.base_url + "/emulator/operations").json()
        return [op for op in operations if op["login"] == shop and op["inv_id"] == str(inv_id)][-1]

    def checkpay(self):
        return self.module("checkpay", check=False)

    def emulator_faults(self, **faults):
        """Sets the emulator's faults; returns them with its refund_calls count."""
        return rkharness.http("POST", self.emulator.base_url + "/emulator/faults",
                              data=json.dumps(faults),
                              headers={"Content-Type": "application/json"}).json()

    def at_once(self, *commands):
        """Runs module commands at the same moment; their results in order."""
        results = [None] * len(commands)
        start = threading.Barrier(len(commands))

        def run(i):
            start.wait()
            results[i] = rkharness.run_module(BIN_DIR, self.root, *commands[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results


class CheckPay(Beyond):
    def test_lost_result_url_is_settled_by_checkpay_once_even_if_it_arrives_later(self):
        method = self.add_method("sha256", shop="lost")
        payment_id, link = self.add_payment(method, "990.00")
        _, paid = self.pay_through_gateway(link, lose_result=True)
        self.assertIsNone(paid["result"])
        self.assertEqual(self.status(payment_id), 2)

        result = self.checkpay()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f'<payment id="{payment_id}" result="credited"/>', result.stdout)
        self.assertEqual(self.status(payment_id), 4)
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        op_key = self.emulator_operation("lost", payment_id)["op_key"]
        self.assertEqual(self.payment(payment_id)["external_id"], op_key)

        # The ResultURL arrives after all: acknowledged, not credited again.
        token = self.emulator_operation("lost", payment_id)["token"]
        late = rkharness.http("POST", self.emulator.base_url + "/emulator/notify",
                              data=json.dumps({"token": token}),
                              headers={"Content-Type": "application/json"}).json()
        self.assertTrue(late["accepted"])
        self.assertEqual(self.payment(payment_id)["credits"], "1")
        verdicts = [row[0] for row in self.journal(payment_id)]
        self.assertEqual(verdicts, ["credited", "duplicate"])

        # A second checkpay has nothing left to ask about.
        again = self.checkpay()
        self.assertEqual((again.returncode, again.stdout.count("<payment ")), (0, 0))

    def test_cancelled_at_robokassa_becomes_cancelled(self):
        method = self.add_method("md5", shop="cancelled")
        payment_id, link = self.add_payment(method, "10.00")
        _, token = self.open_gateway(link)
        rkharness.http("POST", self.emulator.base_url + "/emulator/cancel",
                       data={"token": token}, headers={"Accept": "application/json"})
        result = self.checkpay()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.status(payment_id), 9)

    def test_unreachable_robokassa_leaves_payments_as_they_were(self):
        method = self.add_method("md5", shop="unreachable")
        payment_id, link = self.add_payment(method, "10.00")
        self.get(link)  # status 2
        conf = os.path.join(self.root, "etc", "pmrobokassa.conf")
        with open(conf) as f:
            original = f.read()
        port = rkharness.free_port()
        try:
            with open(conf, "w") as f:
                f.write(original.replace(self.emulator.base_url, f"http://127.0.0.1:{port}"))
            result = self.checkpay()
        finally:
            with open(conf, "w") as f:
                f.write(original)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f'<payment id="{payment_id}" error=', result.stdout)
        self.assertEqual(self.status(payment_id), 2)
        with open(os.path.join(self.root, "var", "pmrobokassa.log")) as f:
            log = f.read()
        self.assertIn(f"checkpay: payment {payment_id}", log)


class CheckPayDeepAnswer(Beyond):
    def test_a_deeply_nested_answer_fails_one_payment_and_checkpay_goes_on(self):
        method = self.add_method("md5", shop="deep")
        first, first_link = self.add_payment(method, "10.00")
        second, second_link = self.add_payment(method, "20.00")
        for link in (first_link, second_link):
            _, paid = self.pay_through_gateway(link, lose_result=True)
            self.assertIsNone(paid["result"])
        # 100,000 nested elements (about 700 KB): Boost's parser would
        # recurse once per level and overflow the stack.
        self.emulator_faults(deep_opstate={f"deep:{first}": 100000})
        try:
            result = self.checkpay()
        finally:
            self.emulator_faults(deep_opstate={})
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f'<payment id="{first}" error=', result.stdout)
        self.assertIn("nested deeper than 64", result.stdout)
        self.assertIn(f'<payment id="{second}" result="credited"/>', result.stdout)
        self.assertEqual((self.status(first), self.status(second)), (2, 4))
        with open(os.path.join(self.root, "var", "pmrobokassa.log")) as f:
            self.assertIn(f"checkpay: payment {first}", f.read())


class Refunds(Beyond):
    def paid_payment(self, shop, amount="1000.00"):
        method = self.add_method("sha1", shop=shop)
        payment_id, link = self.add_payment(method, amount, "--description", "VPS for a month")
        _, paid = self.pay_through_gateway(link)
        self.assertTrue(paid["result"]["accepted"])
        return method, payment_id

    def test_partial_then_full_refund(self):
        _, payment_id = self.paid_payment("refunds")
        first = self.module("refund", "--payment", str(payment_id), "--amount", "250.50")
        self.assertIn("refunded 250.50, finished, status 4", first.stdout)
        self.assertEqual(self.payment(payment_id)["refunded"], "250.50")
        self.assertEqual(self.emulator_operation("refunds", payment_id)["refunded"], "250.50")

        rest = self.module("refund", "--payment", str(payment_id))
        self.assertIn("refunded 749.50, finished, status 6", rest.stdout)
        self.assertEqual(self.status(payment_id), 6)
        self.assertEqual(self.emulator_operation("refunds", payment_id)["refunded"], "1000.00")

    def test_refund_over_the_remainder_is_refused_before_any_call(self):
        _, payment_id = self.paid_payment("over")
        self.module("refund", "--payment", str(payment_id), "--amount", "600")
        refused = self.module("refund", "--payment", str(payment_id), "--amount", "400.01",
                              check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--amount", refused.stderr)
        self.assertIn("400.00", refused.stderr)
        self.assertEqual(self.emulator_operation("over", payment_id)["refunded"], "600.00")
        self.assertEqual(self.payment(payment_id)["refunded"], "600.00")

    def concurrent_refunds(self, shop, amount, *refund_args):
        """Two identical refunds at once against a Refund/Create that answers
        after 1 s: the results and the Refund/Create calls they made."""
        _, payment_id = self.paid_payment(shop, amount)
        calls = self.emulator_faults(refund_delay=1.0)["refund_calls"]
        try:
            command = ("refund", "--payment", str(payment_id), *refund_args)
            results = self.at_once(command, command)
        finally:
            calls = self.emulator_faults(refund_delay=0.0)["refund_calls"] - calls
        return payment_id, results, calls

    def test_two_full_refunds_at_once_make_one_call(self):
        payment_id, results, calls = self.concurrent_refunds("race", "990.00")
        self.assertEqual(calls, 1)
        self.assertEqual(sorted(r.returncode for r in results), [0, 2],
                         [r.stderr for r in results])
        refused = [r for r in results if r.returncode == 2][0]
        self.assertIn("nothing left to refund", refused.stderr)
        self.assertEqual(self.payment(payment_id)["refunded"], "990.00")
        self.assertEqual(self.emulator_operation("race", payment_id)["refunded"], "990.00")

    def test_two_partial_refunds_past_the_total_make_one_call(self):
        payment_id, results, calls = self.concurrent_refunds("race600", "990.00",
                                                             "--amount", "600.00")
        self.assertEqual(calls, 1)
        self.assertEqual(sorted(r.returncode for r in results), [0, 2])
        refused = [r for r in results if r.returncode == 2][0]
        self.assertIn("--amount", refused.stderr)
        self.assertIn("390.00", refused.stderr)
        self.assertEqual(self.payment(payment_id)["refunded"], "600.00")

    def test_a_failed_call_frees_the_reserved_amount(self):
        _, payment_id = self.paid_payment("release", "100.00")
        conf = os.path.join(self.root, "etc", "pmrobokassa.conf")
        with open(conf) as f:
            original = f.read()
        try:
            with open(conf, "w") as f:
                f.write(original.replace("/RefundService/Refund/Create", "/no/such/Create"))
            failed = self.module("refund", "--payment", str(payment_id), check=False)
        finally:
            with open(conf, "w") as f:
                f.write(original)
        self.assertEqual(failed.returncode, 1, failed.stderr)
        again = self.module("refund", "--payment", str(payment_id))
        self.assertIn("refunded 100.00", again.stdout)

    def test_unpaid_payment_cannot_be_refunded(self):
        method = self.add_method("md5", shop="unpaid")
        payment_id, _ = self.add_payment(method, "10")
        refused = self.module("refund", "--payment", str(payment_id), check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("not paid", refused.stderr)


class Recurring(Beyond):
    def test_child_payment_is_charged_and_credited_through_rkresult(self):
        method = self.add_method("md5", shop="series", recurring=True)
        parent_id, link = self.add_payment(method, "300.00", "--description", "Monthly VPS")
        form, paid = self.pay_through_gateway(link)
        self.assertEqual(form.fields["Recurring"], "true")
        self.assertTrue(paid["result"]["accepted"])

        child_id, _ = self.add_payment(method, "300.00", "--description", "Monthly VPS, month 2")
        result = self.module("rcpay", "--payment", str(child_id), "--parent", str(parent_id))
        self.assertEqual(result.stdout.strip(), f"OK{child_id}")
        self.assertEqual(self.status(child_id), 4)
        self.assertEqual(self.payment(child_id)["parent"], str(parent_id))
        self.assertEqual(self.payment(child_id)["credits"], "1")
        self.assertEqual(self.emulator_operation("series", child_id)["parent"], str(parent_id))

    def test_rcpay_refuses_a_method_without_recurring(self):
        method = self.add_method("md5", shop="oneoff")
        parent_id, link = self.add_payment(method, "10")
        form, _ = self.pay_through_gateway(link)
        self.assertNotIn("Recurring", form.fields)
        child_id, _ = self.add_payment(method, "10")
        refused = self.module("rcpay", "--payment", str(child_id), "--parent", str(parent_id),
                              check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--parent", refused.stderr)
        self.assertEqual(self.status(child_id), 1)


class Receipts(Beyond):
    RECEIPT = {"sno": "osn", "items": [
        {"name": "VPS «Старт», ноябрь", "quantity": 1, "sum": 700, "tax": "vat20",
         "payment_method": "full_payment", "payment_object": "service"},
        {"name": "Домен example.ru", "quantity": 1, "sum": 290.5, "tax": "none",
         "payment_method": "full_payment", "payment_object": "service"}]}

    def receipt_file(self, receipt):
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=self.workdir)
        json.dump(receipt, handle, ensure_ascii=False, indent=2)
        handle.close()
        return handle.name

    def test_two_item_receipt_is_signed_and_accepted(self):
        method = self.add_method("sha256", shop="receipts")
        payment_id, link = self.add_payment(method, "990.50", "--receipt",
                                            self.receipt_file(self.RECEIPT))
        page = self.get(link)
        form = parse_form(page.body.decode())
        receipt = form.fields["Receipt"]
        self.assertEqual(json.loads(urllib.parse.unquote(receipt)), self.RECEIPT)
        self.assertEqual(form.fields["SignatureValue"],
                         digest("sha256", f"receipts:990.50:{payment_id}:{receipt}:"
                                          f"{method['password1']}"))
        _, paid = self.pay_through_gateway(link)
        self.assertTrue(paid["result"]["accepted"])
        self.assertEqual(self.status(payment_id), 4)

    def test_altered_receipt_is_refused_by_robokassa(self):
        method = self.add_method("sha256", shop="altered")
        _, link = self.add_payment(method, "990.50", "--receipt",
                                   self.receipt_file(self.RECEIPT))
        form = parse_form(self.get(link).body.decode())
        fields = dict(form.fields, Receipt=form.fields["Receipt"].replace("700", "7"))
        gateway = rkharness.http("POST", form.action, data=fields, headers=FORM_TYPE)
        self.assertIn(b'data-code="29"', gateway.body)

    def test_receipt_not_adding_up_is_refused_naming_the_option(self):
        method = self.add_method("md5", shop="sums")
        for receipt, needle in (
                (dict(self.RECEIPT, items=self.RECEIPT["items"][:1]), "700.00"),
                ({"items": [{"name": "x" * 129, "quantity": 1, "sum": 990.5, "tax": "none"}]},
                 "name"),
                ({"items": [{"name": "x", "quantity": 1, "sum": 990.5, "tax": "vat99"}]}, "tax")):
            with self.subTest(needle=needle):
                refused = self.module("payment.add", "--method", method["id"], "--amount",
                                      "990.50", "--receipt", self.receipt_file(receipt),
                                      check=False)
                self.assertEqual(refused.returncode, 2)
                self.assertIn("--receipt", refused.stderr)
                self.assertIn(needle, refused.stderr)

    def refund_items(self, op_key):
        refunds = rkharness.http("GET", self.emulator.base_url + "/emulator/refunds").json()
        return [r["items"] for r in refunds if r["opKey"] == op_key][-1]

    def test_a_refund_repeats_the_payments_receipt(self):
        method = self.add_method("sha256", shop="refund_receipt")
        whole, link = self.add_payment(method, "990.50", "--description", "VPS and domain",
                                       "--receipt", self.receipt_file(self.RECEIPT))
        self.assertTrue(self.pay_through_gateway(link)[1]["result"]["accepted"])
        part, link = self.add_payment(method, "990.50", "--description", "VPS and domain",
                                      "--receipt", self.receipt_file(self.RECEIPT))
        self.assertTrue(self.pay_through_gateway(link)[1]["result"]["accepted"])

        self.module("refund", "--payment", str(whole))
        op_key = self.module("payment.show", "--payment", str(whole)).stdout
        op_key = re.search(r"<external_id>([^<]*)</external_id>", op_key).group(1)
        self.assertEqual(self.refund_items(op_key), [
            {"Name": "VPS «Старт», ноябрь", "Quantity": 1, "Cost": 700.0, "Tax": "vat20",
             "PaymentMethod": "full_payment", "PaymentObject": "service"},
            {"Name": "Домен example.ru", "Quantity": 1, "Cost": 290.5, "Tax": "none",
             "PaymentMethod": "full_payment", "PaymentObject": "service"}])

        # A part of items with different VAT rates: one line, no one rate.
        self.module("refund", "--payment", str(part), "--amount", "100.00")
        op_key = re.search(r"<external_id>([^<]*)</external_id>", self.module(
            "payment.show", "--payment", str(part)).stdout).group(1)
        self.assertEqual(self.refund_items(op_key), [
            {"Name": "VPS and domain", "Quantity": 1, "Cost": 100.0, "Tax": "none",
             "PaymentMethod": "full_payment", "PaymentObject": "service"}])

    def test_config_offers_no_feature_billmanager_could_not_drive(self):
        # BILLmanager drives refunds with rfset and auto-payments with rcpay
        # on its own payments; `refund` and `rcpay` here are the admin's
        # commands on the store's payments, so config must not offer them.
        config = self.module("config").stdout
        for feature in ("redirect", "notneedprofile", "pmvalidate", "checkpay"):
            self.assertIn(f"<{feature}>on</{feature}>", config)
        for feature in ("refund", "recurring", "rfset", "rcpay"):
            self.assertNotIn(f"<{feature}>", config)
        # Panel mode's recurring_script needs the panel to keep the series.
        self.assertNotIn("recurring_script", config)


if __name__ == "__main__":
    unittest.main()
