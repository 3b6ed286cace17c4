"""Tests of the Robokassa emulator itself, independent of pmrobokassa's code.

Run: python3 -m unittest tests/emulator/test_emulator.py -v
"""

import hashlib
import http.server
import json
import sys
import tempfile
import threading
import unittest
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import rkharness  # noqa: E402  (needs the path above)

# Robokassa's published example (Robokassa's interface description): md5("demo:990.00:12:password_1").
DEMO_VECTOR = "6c9d6eb96b82e643b343c26a85349a37"
# Nothing listens there: the tests follow no redirect, they only read it.
SUCCESS_URL = "http://127.0.0.1:9/mancgi/rksuccess"
FAIL_URL = "http://127.0.0.1:9/mancgi/rkfail"


def hexdigest(algorithm, text):
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()


class ResultServer:
    """A stand-in shop ResultURL: records each notification's form and
    answers from a script of (status, body) replies, then OK<InvId>."""

    def __init__(self):
        self.forms = []
        self.script = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                outer.forms.append(form)
                default = (200, f"OK{form['InvId']}\n")
                status, reply = outer.script.pop(0) if outer.script else default
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode("utf-8"))

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mancgi/rkresult"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class EmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.result = ResultServer()
        cls.emulator = rkharness.Emulator(cls.tmp.name, retries=5, retry_delay=0.02).start()

    @classmethod
    def tearDownClass(cls):
        cls.emulator.stop()
        cls.result.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.result.forms.clear()
        self.result.script.clear()

    # --- helpers -----------------------------------------------------------

    def register(self, login, algorithm="md5", test_mode=True, url_method="POST"):
        self.emulator.register_shop({
            "login": login, "password1": "password_1", "password2": "password_2",
            "password3": "password_3", "hash": algorithm, "result_url": self.result.url,
            "success_url": SUCCESS_URL, "fail_url": FAIL_URL, "url_method": url_method,
            "test_mode": test_mode})

    def post(self, path, form, accept_json=True):
        headers = {"Accept": "application/json"} if accept_json else {}
        return rkharness.http("POST", self.emulator.base_url + path, form, headers=headers)

    def post_json(self, path, obj):
        return rkharness.http("POST", self.emulator.base_url + path, json.dumps(obj),
                              headers={"Content-Type": "application/json"})

    def open_payment(self, fields, method="POST"):
        if method == "GET":
            query = urllib.parse.urlencode(fields)
            return rkharness.http("GET", f"{self.emulator.gateway_url}?{query}")
        return rkharness.http("POST", self.emulator.gateway_url, fields)

    def pay(self, token, accept_json=True):
        return self.post("/emulator/pay", {"token": token}, accept_json)

    @staticmethod
    def demo_fields(**overrides):
        """The published example's form; an override of None drops a field."""
        fields = {"MerchantLogin": "demo", "OutSum": "990.00", "InvId": "12",
                  "Description": "Оплата заказа №12", "SignatureValue": DEMO_VECTOR,
                  "IsTest": "1", **overrides}
        return {name: value for name, value in fields.items() if value is not None}

    def assert_refused(self, response, code):
        self.assertEqual(response.status, 200)
        self.assertIn(f'<p class="error" data-code="{code}">', response.text)

    def token_of(self, response):
        """The operation token of an accepted payment page."""
        self.assertEqual(response.status, 200)
        self.assertNotIn('class="error"', response.text)
        forms = rkharness.parse_forms(response.text)
        self.assertEqual([form.action for form in forms], ["/emulator/pay", "/emulator/cancel"])
        return forms[0].fields["token"]

    # --- the payment page --------------------------------------------------

    def test_published_vector_is_accepted_by_get_and_post(self):
        self.assertEqual(hexdigest("md5", "demo:990.00:12:password_1"), DEMO_VECTOR)
        self.register("demo")
        for method in ("GET", "POST"):
            response = self.open_payment(self.demo_fields(), method)
            self.token_of(response)
            self.assertIn('<html lang="ru">', response.text)
            self.assertIn("990.00", response.text)
            self.assertIn("Оплата заказа №12", response.text)

    def test_signature_hex_is_compared_case_insensitively(self):
        self.register("demo")
        self.token_of(self.open_payment(self.demo_fields(SignatureValue=DEMO_VECTOR.upper())))

    def test_culture_en_sets_the_page_language(self):
        self.register("demo")
        response = self.open_payment(self.demo_fields(Culture="en"))
        self.token_of(response)
        self.assertIn('<html lang="en">', response.text)

    def test_refusals_carry_robokassa_error_codes(self):
        self.register("demo")
        self.register("live", test_mode=False)
        cases = [
            (29, self.demo_fields(SignatureValue=DEMO_VECTOR[:-1] + "0")),
            (29, self.demo_fields(OutSum="991.00")),
            (29, self.demo_fields(SignatureValue=None)),
            (26, self.demo_fields(MerchantLogin="nobody")),
            (31, self.demo_fields(OutSum="990,00")),
            (31, self.demo_fields(OutSum="0.00")),
            (31, self.demo_fields(OutSum=None)),
            (30, self.demo_fields(InvId="12a")),
            (30, self.demo_fields(InvId=str(2**63))),
            (25, self.demo_fields(IsTest=None)),
            (25, self.demo_fields(MerchantLogin="live")),
        ]
        for code, fields in cases:
            with self.subTest(code=code, fields=fields):
                self.assert_refused(self.open_payment(fields), code)

    def test_receipt_is_signed_as_received_after_one_decoding(self):
        self.register("demo")
        receipt = urllib.parse.quote(
            '{"items":[{"name":"Хостинг","quantity":1,"sum":990,"tax":"none"}]}')
        signed = hexdigest("md5", f"demo:990.00:12:{receipt}:password_1:Shp_item=digital")
        self.token_of(self.open_payment(
            self.demo_fields(Receipt=receipt, SignatureValue=signed, Shp_item="digital")))
        unsigned = hexdigest("md5", "demo:990.00:12:password_1:Shp_item=digital")
        self.assert_refused(self.open_payment(
            self.demo_fields(Receipt=receipt, SignatureValue=unsigned, Shp_item="digital")), 29)

    def test_out_sum_currency_is_signed_and_the_operation_is_charged_in_it(self):
        self.register("demo")
        signed = hexdigest("md5", "demo:10.00:12:USD:password_1")
        self.token_of(self.open_payment(
            self.demo_fields(OutSum="10.00", OutSumCurrency="USD", SignatureValue=signed)))
        charged = [op for op in rkharness.http(
            "GET", self.emulator.base_url + "/emulator/operations").json()
            if op["params"].get("OutSumCurrency") == "USD"]
        self.assertEqual([(op["out_sum"], op["currency"]) for op in charged], [("10.00", "USD")])
        # Left out of the signature, or a currency Robokassa does not take.
        unsigned = hexdigest("md5", "demo:10.00:12:password_1")
        self.assert_refused(self.open_payment(
            self.demo_fields(OutSum="10.00", OutSumCurrency="USD", SignatureValue=unsigned)), 29)
        gbp = hexdigest("md5", "demo:10.00:12:GBP:password_1")
        self.assert_refused(self.open_payment(
            self.demo_fields(OutSum="10.00", OutSumCurrency="GBP", SignatureValue=gbp)), 31)

    # --- paying and cancelling ---------------------------------------------

    def test_pay_retries_result_url_until_ok_and_redirects_to_success(self):
        self.register("demo")
        # Byte order puts "Shp_item" before "shp_a" ("S" < "s").
        shp = "Shp_item=digital:shp_a=1 2"
        token = self.token_of(self.open_payment(self.demo_fields(
            SignatureValue=hexdigest("md5", f"demo:990.00:12:password_1:{shp}"),
            Shp_item="digital", shp_a="1 2", Email="buyer@example.com")))
        self.result.script = [(500, "database is locked"), (200, "NOT OK")]

        reply = self.pay(token).json()

        self.assertEqual(reply["result"], {"accepted": True, "attempts": [
            {"status": 500, "body": "database is locked"}, {"status": 200, "body": "NOT OK"},
            {"status": 200, "body": "OK12\n"}]})
        self.assertEqual(len(self.result.forms), 3)
        form = self.result.forms[-1]
        self.assertEqual((form["OutSum"], form["InvId"]), ("990.000000", "12"))
        self.assertEqual(form["SignatureValue"],
                         hexdigest("md5", f"990.000000:12:password_2:{shp}").upper())
        self.assertEqual((form["Shp_item"], form["shp_a"]), ("digital", "1 2"))
        self.assertEqual((form["IsTest"], form["EMail"], form["PaymentMethod"]),
                         ("1", "buyer@example.com", "BankCard"))
        self.assertEqual(reply["redirect"], {"url": SUCCESS_URL, "method": "POST", "fields": {
            "OutSum": "990.000000", "InvId": "12",
            "SignatureValue": hexdigest("md5", f"990.000000:12:password_1:{shp}"),
            "Culture": "ru", "Shp_item": "digital", "shp_a": "1 2"}})

        # A second pay of the same operation is refused and notifies nobody.
        self.assert_refused(self.pay(token, accept_json=False), 40)
        self.assertEqual(len(self.result.forms), 3)

    def test_result_url_gives_up_after_the_retries(self):
        self.register("demo")
        token = self.token_of(self.open_payment(self.demo_fields()))
        self.result.script = [(503, "busy")] * 6
        result = self.pay(token).json()["result"]
        self.assertFalse(result["accepted"])
        self.assertEqual(len(result["attempts"]), 6)  # the first one and 5 retries

    def test_pay_without_json_answers_an_auto_submitting_form(self):
        self.register("demo", url_method="GET")
        response = self.pay(self.token_of(self.open_payment(self.demo_fields())),
                            accept_json=False)
        self.assertEqual(response.status, 200)
        [form] = rkharness.parse_forms(response.text)
        self.assertEqual((form.action, form.method), (SUCCESS_URL, "GET"))
        self.assertEqual(form.fields["OutSum"], "990.000000")
        self.assertIn('<button type="submit">', response.text)
        self.assertIn("document.forms[0].submit()", response.text)

    def test_cancel_redirects_to_fail_url_unsigned_and_notifies_nobody(self):
        self.register("demo")
        token = self.token_of(self.open_payment(self.demo_fields(
            SignatureValue=hexdigest("md5", "demo:990.00:12:password_1:Shp_item=digital"),
            Shp_item="digital")))
        reply = self.post("/emulator/cancel", {"token": token}).json()
        self.assertEqual(reply, {"result": None, "redirect": {
            "url": FAIL_URL, "method": "POST",
            "fields": {"OutSum": "990.000000", "InvId": "12", "Culture": "ru",
                       "Shp_item": "digital"}}})
        self.assertEqual(self.result.forms, [])
        self.assertEqual(self.pay(token).status, 409)

    # --- the control API ---------------------------------------------------

    def test_notify_repeats_the_notification(self):
        self.register("demo")
        token = self.token_of(self.open_payment(self.demo_fields()))
        self.pay(token)
        again = self.post_json("/emulator/notify", {"token": token}).json()
        self.assertEqual(again, {"accepted": True,
                                 "attempts": [{"status": 200, "body": "OK12\n"}]})
        self.assertEqual(self.result.forms[0], self.result.forms[1])

        adhoc = self.post_json("/emulator/notify", {"login": "demo", "inv_id": "77",
                                                    "out_sum": "5", "shp": {"Shp_x": "y"}})
        self.assertTrue(adhoc.json()["accepted"])
        form = self.result.forms[-1]
        self.assertEqual((form["OutSum"], form["InvId"], form["Shp_x"]), ("5", "77", "y"))
        self.assertEqual(form["SignatureValue"],
                         hexdigest("md5", "5:77:password_2:Shp_x=y").upper())

        operations = self.emulator.operations()
        [operation] = [op for op in operations if op["token"] == token]
        self.assertEqual(operation["state"], "paid")
        self.assertEqual(len(operation["notifications"]), 2)
        self.assertNotIn("password_", json.dumps(operations))

    def test_other_hash_algorithms(self):
        for algorithm in ("sha256", "ripemd160", "sha512"):
            with self.subTest(algorithm=algorithm):
                login = f"shop-{algorithm}"
                self.register(login, algorithm)
                token = self.token_of(self.open_payment({
                    "MerchantLogin": login, "OutSum": "10.50", "InvId": "7", "IsTest": "1",
                    "SignatureValue": hexdigest(algorithm, f"{login}:10.50:7:password_1")}))
                self.assertTrue(self.pay(token).json()["result"]["accepted"])
                self.assertEqual(self.result.forms[-1]["SignatureValue"],
                                 hexdigest(algorithm, "10.500000:7:password_2").upper())

    def test_registration_refuses_an_unknown_hash(self):
        url = "http://127.0.0.1:9/"
        response = self.post_json("/emulator/shops", {
            "login": "x", "password1": "a1", "password2": "b2", "hash": "md4",
            "result_url": url, "success_url": url, "fail_url": url})
        self.assertEqual(response.status, 400)
        self.assertIn("hash", response.json()["error"]["message"])

    def test_log_never_shows_passwords(self):
        self.register("demo")
        self.pay(self.token_of(self.open_payment(self.demo_fields())))
        log = self.emulator.log_path.read_text(encoding="utf-8")
        self.assertIn("POST /emulator/pay", log)
        self.assertNotIn("password_", log)


if __name__ == "__main__":
    unittest.main()
