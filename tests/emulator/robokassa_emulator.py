#!/usr/bin/env python3
"""A Robokassa emulator: behaves toward a shop as auth.robokassa.ru does.

It serves the payment page (/Merchant/Index.aspx) with Robokassa's checks and
error codes, and, when the "customer" pays, sends the ResultURL notification
(retrying until the shop answers OK<InvId>) and sends the browser to
SuccessURL; a cancel sends it to FailURL. Control endpoints under /emulator/
let tests register shops, pay, cancel, repeat notifications and inspect
what happened. Only the Python standard library is used.

Passwords are never written to stdout/stderr or returned by any endpoint.
"""

import argparse
import base64
import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from dataclasses import dataclass, field
from decimal import Decimal

import emulator_http
from emulator_http import Reply, json_reply

HASH_ALGORITHMS = ("md5", "ripemd160", "sha1", "sha256", "sha384", "sha512")
URL_METHODS = ("GET", "POST")
CULTURES = ("ru", "en")
MAX_INV_ID = 2**63 - 1
MAX_BODY = 1024 * 1024

# "OutSum: число через точку" - digits with an optional dot part. Six
# decimals at most, because notifications carry it in six-decimal form.
OUT_SUM_RE = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
INV_ID_RE = re.compile(r"[0-9]+")
# ExpirationDate: ISO 8601 as Robokassa documents it, YYYY-MM-DDThh:mm (UTC).
EXPIRATION_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")
# OutSumCurrency: the currencies an amount may be given in instead of
# roubles. It is signed right after InvId (MerchantLogin:OutSum:InvId:
# OutSumCurrency:...), and the operation is charged in it.
OUT_SUM_CURRENCIES = ("USD", "EUR", "KZT")

# Robokassa's payment-interface error codes used here (Robokassa's interface description).
ERROR_MESSAGES = {
    25: ("Магазин не активирован", "The shop is not activated"),
    26: ("Магазин не найден", "The shop is not found"),
    29: ("Неверный параметр SignatureValue", "Invalid SignatureValue"),
    30: ("Неверный параметр счёта", "Invalid invoice parameter"),
    31: ("Неверная сумма платежа", "Invalid payment amount"),
    33: ("Время, отведённое на оплату счёта, истекло", "The time to pay the invoice has expired"),
    40: ("Повторная оплата счёта с тем же номером невозможна",
         "The invoice with this number cannot be paid again"),
    53: ("Счёт не найден", "The invoice is not found"),
}

TEXTS = {
    "title": ("Оплата заказа", "Order payment"),
    "shop": ("Магазин", "Shop"),
    "invoice": ("Счёт", "Invoice"),
    "amount": ("Сумма", "Amount"),
    "description": ("Описание", "Description"),
    "test_mode": ("Тестовый режим", "Test mode"),
    "pay": ("Оплатить", "Pay"),
    "cancel": ("Отказаться от оплаты", "Cancel"),
    "error": ("Ошибка", "Error"),
    "continue": ("Вернуться в магазин", "Return to the shop"),
    "brand": ("Robokassa · эмулятор", "Robokassa · emulator"),
}

# A plain gateway look, readable at 360 px; contrast above WCAG AA.
PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#eef1f5;color:#1b1f24}"
    "header{background:#1b1f24;color:#fff;padding:.75rem 1rem;font-weight:600}"
    "main{max-width:28rem;margin:1rem auto;padding:1.25rem;background:#fff;border-radius:8px}"
    "h1{font-size:1.4rem;margin-top:0}dl{display:grid;grid-template-columns:auto 1fr;"
    "gap:.4rem 1rem}dt{color:#4a4f57}dd{margin:0;overflow-wrap:anywhere}"
    ".test-mode{display:inline-block;padding:.2rem .6rem;border-radius:4px;background:#fff4ce;"
    "color:#5c4400}form{display:inline-block;margin:.5rem .5rem 0 0}"
    "button{font:inherit;padding:.7rem 1.2rem;border-radius:6px;border:2px solid #16703a;"
    "background:#16703a;color:#fff;cursor:pointer}form.cancel button{background:#fff;"
    "color:#1b1f24;border-color:#6b7079}button:focus-visible{outline:3px solid #1b1f24;"
    "outline-offset:2px}.error{color:#a4000f}")


def log(message):
    print(f"robokassa-emulator: {message}", file=sys.stderr, flush=True)


def text(key, culture):
    ru, en = TEXTS[key]
    return en if culture == "en" else ru


def digest_hex(algorithm, data):
    """Lower-case hex digest of the UTF-8 string data."""
    raw = data.encode("utf-8")
    try:
        return hashlib.new(algorithm, raw).hexdigest()
    except ValueError:
        # OpenSSL 3 builds whose default provider lacks ripemd160 make
        # hashlib refuse it; the openssl tool may still have it. The data
        # (it holds a password) goes through stdin, never the argv.
        done = subprocess.run(["openssl", "dgst", f"-{algorithm}", "-r"], input=raw,
                              capture_output=True, check=True, timeout=10)
        return done.stdout.split()[0].decode("ascii")


def shp_pairs(params):
    """The Shp_* pairs of params (prefix in any letter case), as received."""
    return [(name, value) for name, value in params.items() if name.lower().startswith("shp_")]


def signature(algorithm, fields, password, shp):
    """hex H(fields...:password[:Shp_a=v...]) with the Shp pairs sorted by name.

    Python orders str by code point, which is the UTF-8 byte order Robokassa
    and its SDKs use (so "Shp_b" sorts before "shp_a")."""
    parts = [*fields, password]
    parts += [f"{name}={value}" for name, value in sorted(shp, key=lambda pair: pair[0])]
    return digest_hex(algorithm, ":".join(parts))


def six_decimals(out_sum):
    """Robokassa's notification form of an amount: 990.00 -> 990.000000."""
    return f"{Decimal(out_sum):.6f}"


@dataclass
class Shop:
    login: str
    password1: str
    password2: str
    password3: str
    hash: str
    result_url: str
    success_url: str
    fail_url: str
    url_method: str
    test_mode: bool
    # The cabinet's test pair (optional): with it, test payments (IsTest=1)
    # are signed and verified with these only, as Robokassa does (live
    # passwords there give error 29); without it, with the live pair.
    test_password1: str = ""
    test_password2: str = ""

    def pass1(self, is_test):
        return self.test_password1 if is_test and self.test_password1 else self.password1

    def pass2(self, is_test):
        return self.test_password2 if is_test and self.test_password2 else self.password2

    @classmethod
    def from_json(cls, obj):
        """Validates a registration object; raises ValueError naming the field."""
        if not isinstance(obj, dict):
            raise ValueError("a shop must be a JSON object")

        def string(name, required=True):
            return emulator_http.json_string(obj, name, required)

        def url(name):
            return emulator_http.json_http_url(obj, name)

        algorithm = string("hash").lower()
        if algorithm not in HASH_ALGORITHMS:
            raise ValueError(f"hash: unsupported algorithm {obj['hash']!r}")
        try:
            digest_hex(algorithm, "")
        except (OSError, subprocess.SubprocessError) as exc:
            raise ValueError(f"hash: {algorithm} is not available on this machine") from exc
        url_method = obj.get("url_method", "POST")
        if url_method not in URL_METHODS:
            raise ValueError("url_method: GET or POST")
        test_mode = obj.get("test_mode", False)
        if not isinstance(test_mode, bool):
            raise ValueError("test_mode: true or false")
        return cls(login=string("login"), password1=string("password1"),
                   password2=string("password2"), password3=string("password3", required=False),
                   hash=algorithm, result_url=url("result_url"), success_url=url("success_url"),
                   fail_url=url("fail_url"), url_method=url_method, test_mode=test_mode,
                   test_password1=string("test_password1", required=False),
                   test_password2=string("test_password2", required=False))


@dataclass
class Operation:
    token: str
    login: str
    inv_id: str
    out_sum: str  # as the shop sent it to the payment page
    is_test: bool
    culture: str
    email: str
    inc_curr_label: str
    shp: list  # [(name, value)] in the order received
    params: dict  # everything the payment page received
    state: str = "created"  # created -> paid | cancelled
    notifications: list = field(default_factory=list)  # one result object per sending
    # Robokassa's operation key, which OpStateExt reports and refunds name.
    op_key: str = field(default_factory=lambda: secrets.token_hex(18))
    refunded: Decimal = Decimal(0)
    recurring: bool = False  # the first payment of a series (Recurring=true)
    parent: str = ""  # PreviousInvoiceID of a recurring child
    currency: str = "RUB"  # what out_sum is in: OutSumCurrency, else roubles

    def to_json(self):
        return {"token": self.token, "login": self.login, "inv_id": self.inv_id,
                "out_sum": self.out_sum, "is_test": self.is_test, "state": self.state,
                "params": self.params, "shp": dict(self.shp),
                "notifications": self.notifications, "op_key": self.op_key,
                "refunded": f"{self.refunded:.2f}", "recurring": self.recurring,
                "parent": self.parent, "currency": self.currency}


class BadRequest(Exception):
    """A request to the control API that cannot be served; becomes a JSON error."""

    def __init__(self, status, message, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


def html_page(culture, title, body):
    page = (f'<!DOCTYPE html>\n<html lang="{culture}">\n<head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head>\n<body>\n"
            f"<header>{text('brand', culture)}</header>\n<main>\n{body}</main>\n</body>\n"
            "</html>\n")
    return Reply(200, "text/html; charset=utf-8", page.encode("utf-8"))


def error_page(code, culture):
    """Robokassa shows refusals as an ordinary page (HTTP 200) with a code."""
    ru, en = ERROR_MESSAGES[code]
    message = en if culture == "en" else ru
    title = text("error", culture)
    return html_page(culture, title,
                     f"<h1>{title}</h1>\n"
                     f'<p class="error" data-code="{code}">{html.escape(message)} ({code})</p>\n')


def op_state_reply(code, description, state=None, operation=None):
    """OpStateExt's XML answer."""
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<OperationStateResponse xmlns="http://merchant.roboxchange.com/WebService/">'
            f"<Result><Code>{code}</Code><Description>{html.escape(description)}</Description>"
            "</Result>")
    if state is not None:
        body += f"<State><Code>{state}</Code></State>"
        body += (f"<Info><IncCurrLabel>{html.escape(operation.inc_curr_label or 'BankCardPSR')}"
                 f"</IncCurrLabel><IncSum>{Decimal(operation.out_sum):.2f}</IncSum>"
                 f"<OutSum>{Decimal(operation.out_sum):.2f}</OutSum>"
                 f"<OpKey>{operation.op_key}</OpKey></Info>")
    body += "</OperationStateResponse>"
    return Reply(200, "text/xml; charset=utf-8", body.encode())


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hidden_inputs(fields):
    return "".join(f'<input type="hidden" name="{html.escape(name)}" '
                   f'value="{html.escape(value)}">\n' for name, value in fields.items())


class Request(emulator_http.Request):
    error = BadRequest
    max_body = MAX_BODY

    def params(self):
        """Query then form fields; the first occurrence of a name wins."""
        result = {}
        for source in (self.query, self.body.decode("utf-8", "replace")):
            for name, value in urllib.parse.parse_qsl(source, keep_blank_values=True,
                                                      encoding="utf-8", errors="replace"):
                result.setdefault(name, value)
        return result

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadRequest(400, f"malformed JSON: {exc}") from exc


def post_form(url, fields, timeout):
    """POSTs fields form-encoded to url without following redirects."""
    return emulator_http.post(url, urllib.parse.urlencode(fields),
                              {"Content-Type": "application/x-www-form-urlencoded"}, timeout)


class Emulator:
    """The emulated Robokassa: shops, operations and the request handlers."""

    def __init__(self, retries, retry_delay, timeout):
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.lock = threading.Lock()
        self.shops = {}
        self.operations = {}  # token -> Operation, in creation order
        self.refunds = {}  # requestId -> GetState answer
        # Faults a test sets through POST /emulator/faults: seconds Refund/
        # Create waits before answering, and "login:inv_id" -> the depth of
        # nested elements OpStateExt answers with instead of its document.
        # "refund_label": the GetState label new refunds start with
        # ("processing" for one Robokassa has not finished); "settle_refunds":
        # a label every processing refund takes now.
        self.faults = {"refund_delay": 0.0, "deep_opstate": {}, "refund_label": "finished"}
        self.refund_calls = 0  # Refund/Create requests received, valid or not
        # Robokassa numbers invoices itself when InvId is empty or 0.
        self.inv_ids = itertools.count(1_000_000_000)

    def add_shop(self, shop):
        with self.lock:
            self.shops[shop.login] = shop
        log(f"shop {shop.login!r} registered ({shop.hash}, test_mode={shop.test_mode})")

    # --- /Merchant/Index.aspx -------------------------------------------

    def payment_page(self, request):
        params = request.params()
        culture = params.get("Culture") if params.get("Culture") in CULTURES else "ru"
        login = params.get("MerchantLogin", "")
        with self.lock:
            shop = self.shops.get(login)
        if shop is None:
            return error_page(26, culture)
        is_test = params.get("IsTest") == "1"
        if is_test != shop.test_mode:
            return error_page(25, culture)
        out_sum = params.get("OutSum", "")
        if not OUT_SUM_RE.fullmatch(out_sum) or Decimal(out_sum) <= 0:
            return error_page(31, culture)
        raw_inv_id = params.get("InvId", "")
        if raw_inv_id and not (INV_ID_RE.fullmatch(raw_inv_id) and int(raw_inv_id) <= MAX_INV_ID):
            return error_page(30, culture)

        # The signature covers the values exactly as received; Receipt is
        # the once-decoded form value, which is itself URL-encoded JSON.
        signed = [login, out_sum, raw_inv_id]
        currency = params.get("OutSumCurrency")
        if currency is not None:
            if currency not in OUT_SUM_CURRENCIES:
                return error_page(31, culture)
            signed.append(currency)
        if params.get("Receipt"):
            signed.append(params["Receipt"])
        shp = shp_pairs(params)
        expected = signature(shop.hash, signed, shop.pass1(is_test), shp)
        if params.get("SignatureValue", "").lower() != expected:
            return error_page(29, culture)

        # ExpirationDate is not signed; past it, the invoice cannot be paid.
        expiration = params.get("ExpirationDate", "")
        if expiration:
            if not EXPIRATION_RE.fullmatch(expiration):
                return error_page(30, culture)
            deadline = datetime.strptime(expiration, "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.utc)
            if datetime.now(timezone.utc) >= deadline:
                return error_page(33, culture)

        inv_id = str(int(raw_inv_id)) if raw_inv_id and int(raw_inv_id) else str(next(self.inv_ids))
        operation = Operation(token=secrets.token_hex(16), login=login, inv_id=inv_id,
                              out_sum=out_sum, is_test=is_test, culture=culture,
                              email=params.get("Email", ""),
                              inc_curr_label=params.get("IncCurrLabel", ""), shp=shp,
                              params=params, recurring=params.get("Recurring") == "true",
                              currency=currency or "RUB")
        with self.lock:
            # Live invoices are unique per shop; test ones are not tracked (Robokassa's interface description, code 40).
            if not is_test and any(op.login == login and op.inv_id == inv_id and op.state == "paid"
                                   for op in self.operations.values()):
                return error_page(40, culture)
            self.operations[operation.token] = operation
        return self.render_payment(shop, operation, params.get("Description", ""))

    @staticmethod
    def render_payment(shop, operation, description):
        culture = operation.culture
        token = html.escape(operation.token)
        rows = [("shop", shop.login), ("invoice", operation.inv_id), ("amount", operation.out_sum),
                ("description", description)]
        body = f"<h1>{text('title', culture)}</h1>\n<dl>\n"
        body += "".join(f'<dt>{text(key, culture)}</dt>'
                        f'<dd class="{key}">{html.escape(value)}</dd>\n' for key, value in rows)
        body += "</dl>\n"
        if operation.is_test:
            body += f'<p class="test-mode">{text("test_mode", culture)}</p>\n'
        for action in ("pay", "cancel"):
            body += (f'<form class="{action}" method="POST" action="/emulator/{action}">'
                     f'<input type="hidden" name="token" value="{token}">'
                     f'<button type="submit">{text(action, culture)}</button></form>\n')
        return html_page(culture, text("title", culture), body)

    # --- the customer's choice ------------------------------------------

    def pay(self, request):
        operation, error = self.take_operation(request, "paid")
        if error:
            return error
        with self.lock:
            shop = self.shops[operation.login]
        out_sum = six_decimals(operation.out_sum)
        # lose_result=1: the money is taken but the ResultURL call never
        # arrives, the case checkpay (OpStateExt) exists for.
        if request.params().get("lose_result") == "1":
            result = None
        else:
            result = self.notify(shop, operation, out_sum, operation.shp)
        fields = {"OutSum": out_sum, "InvId": operation.inv_id,
                  "SignatureValue": signature(shop.hash, [out_sum, operation.inv_id],
                                              shop.pass1(operation.is_test), operation.shp),
                  "Culture": operation.culture, **dict(operation.shp)}
        return self.redirect(request, shop, shop.success_url, fields, operation.culture, result)

    def cancel(self, request):
        operation, error = self.take_operation(request, "cancelled")
        if error:
            return error
        with self.lock:
            shop = self.shops[operation.login]
        fields = {"OutSum": six_decimals(operation.out_sum), "InvId": operation.inv_id,
                  "Culture": operation.culture, **dict(operation.shp)}
        return self.redirect(request, shop, shop.fail_url, fields, operation.culture, None)

    def take_operation(self, request, new_state):
        """Moves the operation named by the form's token from "created" to
        new_state, atomically so a double click cannot pay twice.

        Returns (operation, None) or (None, error reply)."""
        token = request.params().get("token", "")
        with self.lock:
            operation = self.operations.get(token)
            if operation is not None and operation.state == "created":
                operation.state = new_state
                return operation, None
        code = 53 if operation is None else 40
        if request.wants_json:
            return None, json_reply({"error": {"code": code, "message": ERROR_MESSAGES[code][1]}},
                                    404 if operation is None else 409)
        return None, error_page(code, operation.culture if operation else "ru")

    @staticmethod
    def redirect(request, shop, url, fields, culture, result):
        """Sends the browser to the shop: JSON for tests that follow it
        themselves, else an auto-submitting form with a button for no-JS."""
        target = {"url": url, "method": shop.url_method, "fields": fields}
        if request.wants_json:
            return json_reply({"result": result, "redirect": target})
        body = (f'<form method="{shop.url_method}" action="{html.escape(url)}">\n'
                f"{hidden_inputs(fields)}"
                f'<button type="submit">{text("continue", culture)}</button>\n</form>\n'
                "<script>document.forms[0].submit();</script>\n")
        return html_page(culture, text("continue", culture), body)

    # --- ResultURL -------------------------------------------------------

    def notify(self, shop, operation, out_sum, shp):
        """Sends the ResultURL notification for operation with this OutSum and
        these Shp pairs, retrying until the shop answers HTTP 200 with
        OK<InvId>, and records the outcome on the operation."""
        fields = [("OutSum", out_sum), ("InvId", operation.inv_id),
                  ("SignatureValue", signature(shop.hash, [out_sum, operation.inv_id],
                                               shop.pass2(operation.is_test), shp).upper()),
                  ("Fee", "0.00"), ("EMail", operation.email), ("PaymentMethod", "BankCard"),
                  ("IncCurrLabel", operation.inc_curr_label or "BankCardPSR"),
                  ("Culture", operation.culture)]
        if operation.is_test:
            fields.append(("IsTest", "1"))
        fields += shp

        def attempt_once(number):
            status, body = post_form(shop.result_url, fields, self.timeout)
            accepted = status == 200 and body.rstrip() == f"OK{operation.inv_id}"
            log(f"ResultURL InvId={operation.inv_id} attempt {number}: {status} "
                f"{'accepted' if accepted else 'refused'}")
            return {"status": status, "body": body}, accepted

        result = emulator_http.deliver_with_retries(attempt_once, self.retries, self.retry_delay)
        with self.lock:
            operation.notifications.append(result)
        return result

    # --- control API -----------------------------------------------------

    def register_shop(self, request):
        try:
            shop = Shop.from_json(request.json())
        except ValueError as exc:
            raise BadRequest(400, str(exc)) from exc
        self.add_shop(shop)
        return json_reply({"login": shop.login})

    def renotify(self, request):
        """Sends a ResultURL notification again: for a paid operation by its
        token, or for any login/inv_id/out_sum/shp (sent verbatim), which is
        recorded on that invoice's newest operation or a new paid one."""
        obj = request.json()
        if not isinstance(obj, dict):
            raise BadRequest(400, "a JSON object is required")
        if "token" in obj:
            with self.lock:
                operation = self.operations.get(str(obj["token"]))
                if operation is None:
                    raise BadRequest(404, "unknown token", code=53)
                if operation.state != "paid":
                    raise BadRequest(409, f"the operation is {operation.state}, not paid")
                shop = self.shops[operation.login]
            out_sum = six_decimals(operation.out_sum)
            return json_reply(self.notify(shop, operation, out_sum, operation.shp))

        login, inv_id, out_sum = obj.get("login"), obj.get("inv_id"), obj.get("out_sum")
        shp = obj.get("shp", {})
        if not isinstance(login, str) or not isinstance(inv_id, (str, int)) \
                or not isinstance(out_sum, str) or not isinstance(shp, dict):
            raise BadRequest(400, "token, or login, inv_id, out_sum (and optional shp) required")
        inv_id = str(inv_id)
        with self.lock:
            shop = self.shops.get(login)
            if shop is None:
                raise BadRequest(404, "unknown shop", code=26)
            matching = [op for op in self.operations.values()
                        if op.login == login and op.inv_id == inv_id]
            if matching:
                operation = matching[-1]
            else:
                operation = Operation(token=secrets.token_hex(16), login=login, inv_id=inv_id,
                                      out_sum=out_sum, is_test=shop.test_mode, culture="ru",
                                      email="", inc_curr_label="", shp=[], params={},
                                      state="paid")
                self.operations[operation.token] = operation
        shp = [(str(name), str(value)) for name, value in shp.items()]
        return json_reply(self.notify(shop, operation, out_sum, shp))

    # --- XML and JSON interfaces: OpStateExt, Refund, Recurring -----------

    def newest_operation(self, login, inv_id):
        with self.lock:
            matching = [op for op in self.operations.values()
                        if op.login == login and op.inv_id == inv_id]
        return matching[-1] if matching else None

    def list_refunds(self, _request):
        with self.lock:
            return json_reply(list(self.refunds.values()))

    def set_faults(self, request):
        obj = request.json()
        if not isinstance(obj, dict):
            raise BadRequest(400, "a JSON object is required")
        with self.lock:
            settle = obj.pop("settle_refunds", None)
            for refund in self.refunds.values():
                if settle and refund["label"] == "processing":
                    refund["label"] = settle
            self.faults.update(obj)
            return json_reply({**self.faults, "refund_calls": self.refund_calls})

    def op_state(self, request):
        """OpStateExt: Signature = H(MerchantLogin:InvoiceID:Password2), the
        test Password #2 for a shop in test mode. Result codes: 1 signature
        wrong, 2 no such shop, 3 no such invoice, 0 with the state."""
        params = request.params()
        login, inv_id = params.get("MerchantLogin", ""), params.get("InvoiceID", "")
        depth = self.faults["deep_opstate"].get(f"{login}:{inv_id}")
        if depth:
            return Reply(200, "text/xml; charset=utf-8",
                         b"<OperationStateResponse>" + b"<a>" * depth + b"</a>" * depth +
                         b"</OperationStateResponse>")
        with self.lock:
            shop = self.shops.get(login)
        if shop is None:
            return op_state_reply(2, "shop not found")
        expected = signature(shop.hash, [login, inv_id], shop.pass2(shop.test_mode), [])
        if params.get("Signature", "").lower() != expected:
            return op_state_reply(1, "invalid signature")
        operation = self.newest_operation(login, inv_id)
        if operation is None:
            return op_state_reply(3, "invoice not found")
        state = {"created": 5, "cancelled": 10, "paid": 100}[operation.state]
        if operation.state == "paid" and operation.refunded >= Decimal(operation.out_sum):
            state = 60
        return op_state_reply(0, "", state, operation)

    def refund_create(self, request):
        """Refund/Create: the body is a JWT (HS256 under the shop's Password #3)
        whose payload names OpKey and RefundSum."""
        with self.lock:
            self.refund_calls += 1
            delay = float(self.faults["refund_delay"])
        time.sleep(delay)
        token = request.body.decode("ascii", "replace").strip()
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            payload = json.loads(b64url_decode(payload_b64))
        except (ValueError, TypeError):
            return json_reply({"success": False, "message": "malformed JWT"})
        if header.get("alg") != "HS256" or not isinstance(payload, dict):
            return json_reply({"success": False, "message": "unsupported JWT"})
        with self.lock:
            operation = next((op for op in self.operations.values()
                              if op.op_key == payload.get("OpKey")), None)
            shop = self.shops.get(operation.login) if operation else None
        if operation is None or shop is None:
            return json_reply({"success": False, "message": "operation not found"})
        if not shop.password3:
            return json_reply({"success": False, "message": "refunds are not enabled"})
        expected = hmac.new(shop.password3.encode(), f"{header_b64}.{payload_b64}".encode(),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(b64url_encode(expected), signature_b64):
            return json_reply({"success": False, "message": "invalid JWT signature"})
        try:
            amount = Decimal(str(payload.get("RefundSum")))
        except ArithmeticError:
            return json_reply({"success": False, "message": "invalid RefundSum"})
        with self.lock:
            remaining = Decimal(operation.out_sum) - operation.refunded
            if operation.state != "paid" or amount <= 0 or amount > remaining:
                return json_reply({"success": False,
                                   "message": f"RefundSum must be from 0.01 to {remaining:.2f}"})
            operation.refunded += amount
            request_id = str(uuid.uuid4())
            self.refunds[request_id] = {"requestId": request_id, "amount": float(amount),
                                        "label": self.faults["refund_label"],
                                        "opKey": operation.op_key,
                                        "items": payload.get("InvoiceItems")}
        log(f"refund {request_id}: {amount} of InvId={operation.inv_id}")
        return json_reply({"success": True, "message": None, "requestId": request_id})

    def refund_state(self, request):
        request_id = request.params().get("id", "")
        with self.lock:
            refund = self.refunds.get(request_id)
        if refund is None:
            raise BadRequest(404, "refund not found")
        return json_reply({key: refund[key] for key in ("requestId", "amount", "label")})

    def recurring(self, request):
        """Merchant/Recurring: charges a child invoice against a paid first
        payment made with Recurring=true, then calls ResultURL as usual."""
        params = request.params()
        login = params.get("MerchantLogin", "")
        inv_id, parent_id = params.get("InvoiceID", ""), params.get("PreviousInvoiceID", "")
        out_sum = params.get("OutSum", "")
        with self.lock:
            shop = self.shops.get(login)
        if shop is None:
            return Reply(400, "text/plain", b"ERROR shop not found")
        signed = [login, out_sum, inv_id] + ([params["Receipt"]] if params.get("Receipt") else [])
        if params.get("SignatureValue", "").lower() != signature(shop.hash, signed,
                                                                 shop.password1, []):
            return Reply(400, "text/plain", b"ERROR invalid SignatureValue")
        parent = self.newest_operation(login, parent_id)
        if parent is None or parent.state != "paid" or not parent.recurring:
            return Reply(400, "text/plain", b"ERROR no paid recurring parent")
        if not OUT_SUM_RE.fullmatch(out_sum) or not INV_ID_RE.fullmatch(inv_id):
            return Reply(400, "text/plain", b"ERROR invalid OutSum or InvoiceID")
        operation = Operation(token=secrets.token_hex(16), login=login, inv_id=inv_id,
                              out_sum=out_sum, is_test=parent.is_test, culture=parent.culture,
                              email=parent.email, inc_curr_label=parent.inc_curr_label, shp=[],
                              params=params, state="paid", parent=parent_id)
        with self.lock:
            self.operations[operation.token] = operation
        self.notify(shop, operation, six_decimals(out_sum), [])
        return Reply(200, "text/plain", f"OK{inv_id}".encode())

    def list_operations(self, _request):
        with self.lock:
            return json_reply([op.to_json() for op in self.operations.values()])


# path -> {HTTP method -> Emulator method}.
ROUTES = {
    "/Merchant/Index.aspx": {"GET": Emulator.payment_page, "POST": Emulator.payment_page},
    "/emulator/shops": {"POST": Emulator.register_shop},
    "/emulator/pay": {"POST": Emulator.pay},
    "/emulator/cancel": {"POST": Emulator.cancel},
    "/emulator/notify": {"POST": Emulator.renotify},
    "/emulator/operations": {"GET": Emulator.list_operations},
    "/emulator/faults": {"POST": Emulator.set_faults},
    "/emulator/refunds": {"GET": Emulator.list_refunds},
    "/Merchant/WebService/Service.asmx/OpStateExt": {"GET": Emulator.op_state,
                                                     "POST": Emulator.op_state},
    "/RefundService/Refund/Create": {"POST": Emulator.refund_create},
    "/RefundService/Refund/GetState": {"GET": Emulator.refund_state},
    "/Merchant/Recurring": {"POST": Emulator.recurring},
}


class Handler(emulator_http.Handler):
    server_version = "RobokassaEmulator/1.0"
    request_class = Request
    refusal = BadRequest

    def routes_for(self, path):
        return ROUTES.get(path)

    def error_reply(self, exc):
        if exc is None:
            return json_reply({"error": {"code": None, "message": "internal error"}}, 500)
        return json_reply({"error": {"code": exc.code, "message": str(exc)}}, exc.status)

    def log(self, message):
        log(message)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    emulator_http.add_arguments(parser, "ResultURL")
    parser.add_argument("--shops", help="JSON file: a list of shop objects to register, "
                                        "as POST /emulator/shops takes them")
    args = parser.parse_args(argv)

    emulator = Emulator(args.retries, args.retry_delay, args.timeout)
    if args.shops:
        try:
            with open(args.shops, encoding="utf-8") as file:
                shops = [Shop.from_json(obj) for obj in json.load(file)]
        except (OSError, ValueError, TypeError) as exc:
            parser.error(f"--shops {args.shops}: {exc}")
        for shop in shops:
            emulator.add_shop(shop)

    emulator_http.serve(Handler, emulator, args.host, args.port, args.port_file, log)

if __name__ == "__main__":
    main()
