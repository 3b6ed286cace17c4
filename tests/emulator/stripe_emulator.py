#!/usr/bin/env python3
"""A Stripe emulator: behaves toward a shop as api.stripe.com does.

It creates Checkout Sessions (POST /v1/checkout/sessions, with Stripe's
Bearer key check, form-encoded bracket parameters, Idempotency-Key and error
objects) and expires them (POST /v1/checkout/sessions/{id}/expire), serves
the hosted payment page the session's url points to, and, when the
"customer" pays, delivers a signed checkout.session.completed event to the
account's webhook endpoint, retrying until it answers 2xx; a delayed
payment method completes the session unpaid and later delivers
checkout.session.async_payment_succeeded or _failed. Control
endpoints under /emulator/ let tests register accounts, deliver any event,
replay an event (with a fresh or a chosen timestamp) and inspect what
happened. Only the Python standard library is used.

Secret keys and webhook secrets are never written to stdout/stderr or
returned by any endpoint.
"""

import argparse
import hashlib
import hmac
import html
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import emulator_http
from emulator_http import Reply, json_reply

MAX_BODY = 1024 * 1024
API_VERSION = "2024-06-20"
SECRET_KEY_RE = re.compile(r"sk_(live|test)_[A-Za-z0-9]{8,247}")
CURRENCY_RE = re.compile(r"[a-z]{3}")
POSITIVE_INT_RE = re.compile(r"[1-9][0-9]{0,17}")
# The Checkout Session parameters this emulator understands; Stripe refuses
# any other with "Received unknown parameter".
SESSION_PARAMS = [
    re.compile(p) for p in (
        r"mode", r"success_url", r"cancel_url", r"client_reference_id", r"customer_email",
        r"locale", r"metadata\[[^\[\]]{1,40}\]",
        r"payment_intent_data\[metadata\]\[[^\[\]]{1,40}\]",
        r"line_items\[\d+\]\[quantity\]", r"line_items\[\d+\]\[price_data\]\[currency\]",
        r"line_items\[\d+\]\[price_data\]\[unit_amount\]",
        r"line_items\[\d+\]\[price_data\]\[product_data\]\[name\]")]
LOCALES = ("auto", "ru", "en")


def log(message):
    print(f"stripe-emulator: {message}", file=sys.stderr, flush=True)


def masked(key):
    """Stripe's way of naming a key in an error: sk_test_****abcd."""
    prefix = key[:8] if key.startswith(("sk_live_", "sk_test_")) else key[:3]
    return f"{prefix}****{key[-4:]}"


def new_id(prefix, live):
    return f"{prefix}_{'live' if live else 'test'}_{secrets.token_hex(12)}"


def sign(secret, timestamp, payload):
    """hex HMAC-SHA256(secret, "<t>." + payload): Stripe's v1 scheme."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload,
                    hashlib.sha256).hexdigest()


def signature_header(secrets_, timestamp, payload):
    """t=…,v1=… with one v1 per secret (several while a secret is rolled)."""
    return ",".join([f"t={timestamp}"] + [f"v1={sign(s, timestamp, payload)}" for s in secrets_])


@dataclass
class Account:
    secret_key: str
    webhook_url: str
    webhook_secret: str
    # Stripe signs with both the new and the expiring secret while rolling.
    previous_webhook_secret: str = ""

    @property
    def live(self):
        return self.secret_key.startswith("sk_live_")

    @classmethod
    def from_json(cls, obj):
        if not isinstance(obj, dict):
            raise ValueError("an account must be a JSON object")

        def string(name, required=True):
            return emulator_http.json_string(obj, name, required)

        secret_key = string("secret_key")
        if not SECRET_KEY_RE.fullmatch(secret_key):
            raise ValueError("secret_key: sk_live_… or sk_test_… is required")
        webhook_url = emulator_http.json_http_url(obj, "webhook_url")
        webhook_secret = string("webhook_secret")
        if not webhook_secret.startswith("whsec_"):
            raise ValueError("webhook_secret: whsec_… is required")
        return cls(secret_key, webhook_url, webhook_secret,
                   string("previous_webhook_secret", required=False))


@dataclass
class Event:
    obj: dict  # the event as Stripe serialises it
    account: Account
    payload: bytes  # the exact body every delivery sends
    deliveries: list = field(default_factory=list)  # one result object per delivery

    def to_json(self):
        return {"event": self.obj, "deliveries": self.deliveries}


class BadRequest(Exception):
    """A request that cannot be served; becomes Stripe's JSON error object."""

    def __init__(self, status, message, error_type="invalid_request_error", param=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.param = param


class Request(emulator_http.Request):
    error = BadRequest
    max_body = MAX_BODY

    def form_pairs(self):
        try:
            return urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True,
                                          strict_parsing=bool(self.body), errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(400, f"malformed form body: {exc}") from exc

    def json(self):
        try:
            obj = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise BadRequest(400, f"malformed JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise BadRequest(400, "a JSON object is required")
        return obj


def post_event(url, payload, header, timeout):
    """POSTs one signed event; returns (status, body), status 0 when the
    network failed."""
    return emulator_http.post(url, payload,
                              {"Content-Type": "application/json; charset=utf-8",
                               "Stripe-Signature": header,
                               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
                              timeout)


class Emulator:
    """The emulated Stripe: accounts, sessions, events and the handlers."""

    def __init__(self, retries, retry_delay, timeout):
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.lock = threading.Lock()
        self.accounts = {}  # secret key -> Account
        self.sessions = {}  # id -> (session dict, Account), in creation order
        self.events = {}  # id -> Event, in creation order
        self.idempotency = {}  # (secret key, Idempotency-Key) -> (params, session id)
        self.base_url = ""  # set once the server is listening

    # --- the API -----------------------------------------------------------

    def account_for(self, request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise BadRequest(401, "You did not provide an API key. Provide your API key in the "
                                  "Authorization header, using Bearer auth.")
        key = auth[len("Bearer "):]
        with self.lock:
            account = self.accounts.get(key)
        if account is None:
            raise BadRequest(401, f"Invalid API Key provided: {masked(key)}")
        return account

    def create_session(self, request):
        account = self.account_for(request)
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            # Stripe answers a repeated key with the first answer, and refuses
            # the key with other parameters.
            with self.lock:
                seen = self.idempotency.get((account.secret_key, key))
            if seen is not None:
                if seen[0] != request.body:
                    raise BadRequest(400, "Keys for idempotent requests can only be used with "
                                          "the same parameters they were first used with.",
                                     error_type="idempotency_error")
                session, _ = self.session_or_404(seen[1])
                log(f"session {session['id']} returned again for an Idempotency-Key")
                return json_reply(self.public(session))
        params = {}
        for name, value in request.form_pairs():
            if not any(p.fullmatch(name) for p in SESSION_PARAMS):
                raise BadRequest(400, f"Received unknown parameter: {name}", param=name)
            if name in params:
                raise BadRequest(400, f"Received duplicate parameter: {name}", param=name)
            params[name] = value

        def required(name):
            if not params.get(name):
                raise BadRequest(400, f"Missing required param: {name}.", param=name)
            return params[name]

        if required("mode") != "payment":
            raise BadRequest(400, "Invalid mode: must be payment here", param="mode")
        for name in ("success_url", "cancel_url"):
            if urllib.parse.urlsplit(required(name)).scheme not in ("http", "https"):
                raise BadRequest(400, f"Not a valid URL: {name}", param=name)
        if params.get("locale", "auto") not in LOCALES:
            raise BadRequest(400, "Invalid locale", param="locale")
        indexes = sorted({int(m.group(1)) for m in (re.match(r"line_items\[(\d+)\]", n)
                                                       for n in params) if m})
        if not indexes or indexes != list(range(len(indexes))):
            raise BadRequest(400, "Missing required param: line_items.", param="line_items")
        currency, amount_total, items = None, 0, []
        for i in indexes:
            prefix = f"line_items[{i}]"
            item_currency = required(f"{prefix}[price_data][currency]")
            unit_amount = required(f"{prefix}[price_data][unit_amount]")
            quantity = required(f"{prefix}[quantity]")
            name = required(f"{prefix}[price_data][product_data][name]")
            if not CURRENCY_RE.fullmatch(item_currency):
                raise BadRequest(400, "Invalid currency", param=f"{prefix}[price_data][currency]")
            if currency not in (None, item_currency):
                raise BadRequest(400, "All line items must share one currency")
            currency = item_currency
            for pname, value in (("unit_amount", unit_amount), ("quantity", quantity)):
                if not POSITIVE_INT_RE.fullmatch(value):
                    raise BadRequest(400, f"Invalid positive integer: {pname}",
                                     param=f"{prefix}[{pname}]")
            amount_total += int(unit_amount) * int(quantity)
            items.append({"name": name, "unit_amount": int(unit_amount),
                          "quantity": int(quantity)})
        metadata = {m.group(1): v for n, v in params.items()
                    if (m := re.fullmatch(r"metadata\[([^\[\]]+)\]", n))}
        pi_metadata = {m.group(1): v for n, v in params.items()
                       if (m := re.fullmatch(r"payment_intent_data\[metadata\]\[([^\[\]]+)\]", n))}
        client_reference_id = params.get("client_reference_id")
        if client_reference_id is not None and not 1 <= len(client_reference_id) <= 200:
            raise BadRequest(400, "client_reference_id: 1 to 200 characters",
                             param="client_reference_id")
        session_id = new_id("cs", account.live)
        session = {
            "id": session_id, "object": "checkout.session", "livemode": account.live,
            "mode": "payment", "status": "open", "payment_status": "unpaid",
            "amount_subtotal": amount_total, "amount_total": amount_total, "currency": currency,
            "client_reference_id": client_reference_id, "metadata": metadata,
            "customer_email": params.get("customer_email"), "locale": params.get("locale"),
            "success_url": params["success_url"], "cancel_url": params["cancel_url"],
            "payment_intent": None, "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "url": f"{self.base_url}/pay/{session_id}",
            # Not in Stripe's object: what the emulator keeps for inspection.
            "_line_items": items, "_payment_intent_metadata": pi_metadata,
        }
        with self.lock:
            self.sessions[session_id] = (session, account)
            if key is not None:
                self.idempotency[(account.secret_key, key)] = (request.body, session_id)
        log(f"session {session_id} created: {amount_total} {currency} "
            f"client_reference_id={client_reference_id}")
        return json_reply(self.public(session))

    def expire_session(self, request):
        """POST /v1/checkout/sessions/{id}/expire: only an open session."""
        account = self.account_for(request)
        match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)/expire", request.path)
        if match is None:
            raise BadRequest(404, f"Unrecognized request URL (POST: {request.path}).")
        session, owner = self.session_or_404(match.group(1))
        if owner is not account:
            raise BadRequest(404, f"No such checkout.session: '{match.group(1)}'")
        with self.lock:
            if session["status"] != "open":
                raise BadRequest(400, "Only Checkout Sessions with a status in [\"open\"] can "
                                      f"be expired. This one is {session['status']}.")
            session["status"] = "expired"
        log(f"session {session['id']} expired")
        return json_reply(self.public(session))

    @staticmethod
    def public(session):
        return {k: v for k, v in session.items() if not k.startswith("_")}

    # --- the hosted payment page --------------------------------------------

    def session_or_404(self, session_id):
        with self.lock:
            entry = self.sessions.get(session_id)
        if entry is None:
            raise BadRequest(404, f"No such checkout.session: '{session_id}'")
        return entry

    def payment_page(self, request):
        session_id = request.path[len("/pay/"):]
        session, _ = self.session_or_404(session_id)
        amount = f"{session['amount_total']} {session['currency']}"
        body = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Pay</title></head>"
                f"<body><h1>Stripe Checkout (emulated)</h1><p class=\"amount\">{html.escape(amount)}"
                f"</p><p class=\"status\">{html.escape(session['status'])}</p>"
                f"<form method=\"POST\" action=\"/pay/{html.escape(session_id)}\">"
                f"<button type=\"submit\">Pay</button></form></body></html>\n")
        return Reply(200, "text/html; charset=utf-8", body.encode())

    def pay(self, request):
        """Completes the session (once), delivers checkout.session.completed
        and sends the browser to success_url (JSON for tests). {"session":
        id, "delayed": true}: a delayed payment method, the session completes
        unpaid (settle it with /emulator/settle_delayed)."""
        delayed = False
        if request.path.startswith("/pay/"):
            session_id = request.path[len("/pay/"):]
        else:
            obj = request.json()
            session_id = str(obj.get("session", ""))
            delayed = obj.get("delayed") is True
        session, account = self.session_or_404(session_id)
        with self.lock:
            if session["status"] != "open":
                raise BadRequest(409, f"The session is {session['status']}")
            session["status"] = "complete"
            session["payment_status"] = "unpaid" if delayed else "paid"
            session["payment_intent"] = new_id("pi", account.live)
        event = self.new_event(account, "checkout.session.completed", self.public(session))
        delivery = self.deliver(event)
        if request.wants_json:
            return json_reply({"event": event.obj["id"], "delivery": delivery,
                               "redirect": session["success_url"]})
        return Reply(303, "text/plain", b"", {"Location": session["success_url"]})

    def settle_delayed(self, request):
        """POST /emulator/settle_delayed {"session": id, "succeeded": bool}:
        the delayed payment of a session completed unpaid succeeds (or fails);
        delivers checkout.session.async_payment_succeeded (or _failed)."""
        obj = request.json()
        session, account = self.session_or_404(str(obj.get("session", "")))
        succeeded = obj.get("succeeded", True) is True
        with self.lock:
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise BadRequest(409, "The session is not waiting for a delayed payment")
            if succeeded:
                session["payment_status"] = "paid"
        event_type = ("checkout.session.async_payment_succeeded" if succeeded
                      else "checkout.session.async_payment_failed")
        event = self.new_event(account, event_type, self.public(session))
        return json_reply({"event": event.obj["id"], "delivery": self.deliver(event)})

    # --- events ---------------------------------------------------------------

    def new_event(self, account, event_type, obj):
        event_obj = {"id": f"evt_{secrets.token_hex(12)}",
                     "object": "event", "api_version": API_VERSION,
                     "created": int(time.time()), "data": {"object": obj},
                     "livemode": account.live, "pending_webhooks": 1,
                     "request": {"id": None, "idempotency_key": None}, "type": event_type}
        # Stripe sends its events pretty-printed; the signature covers these bytes.
        event = Event(event_obj, account, json.dumps(event_obj, indent=2).encode("utf-8"))
        with self.lock:
            self.events[event_obj["id"]] = event
        return event

    def deliver(self, event, timestamp=None, retries=None, secret=None):
        """Sends the event, retrying until a 2xx; records the outcome.

        timestamp: sign with this t instead of now (stale replays); secret:
        sign with this secret instead of the account's (forgeries)."""
        account = event.account
        secrets_ = [secret] if secret else [account.webhook_secret] + (
            [account.previous_webhook_secret] if account.previous_webhook_secret else [])

        def attempt_once(number):
            t = int(time.time()) if timestamp is None else timestamp
            header = signature_header(secrets_, t, event.payload)
            status, body = post_event(account.webhook_url, event.payload, header, self.timeout)
            log(f"event {event.obj['id']} ({event.obj['type']}) attempt {number}: {status}")
            return {"status": status, "body": body, "t": t}, 200 <= status < 300

        result = emulator_http.deliver_with_retries(
            attempt_once, self.retries if retries is None else retries, self.retry_delay)
        with self.lock:
            event.deliveries.append(result)
        return result

    def create_event(self, request):
        """POST /emulator/events {"account": secret key | "session": id,
        "type": …, "object": {…}, "deliver": true, "retries": n}."""
        obj = request.json()
        event_type = obj.get("type")
        data_object = obj.get("object", {})
        if not isinstance(event_type, str) or not isinstance(data_object, dict):
            raise BadRequest(400, "type (a string) and object (a JSON object) are required")
        if "session" in obj:
            _, account = self.session_or_404(str(obj["session"]))
        else:
            with self.lock:
                account = self.accounts.get(str(obj.get("account", "")))
            if account is None:
                raise BadRequest(404, "unknown account")
        event = self.new_event(account, event_type, data_object)
        reply = {"event": event.obj, "payload": event.payload.decode("utf-8")}
        if obj.get("deliver", True):
            reply["delivery"] = self.deliver(event, retries=obj.get("retries"))
        return json_reply(reply)

    def replay(self, request):
        """POST /emulator/replay {"event": id, "timestamp": t (optional),
        "retries": n (optional, default 0)}: the same event, same body,
        signed again with a fresh (or the given) timestamp."""
        obj = request.json()
        with self.lock:
            event = self.events.get(str(obj.get("event", "")))
        if event is None:
            raise BadRequest(404, "unknown event")
        timestamp = obj.get("timestamp")
        if timestamp is not None and not isinstance(timestamp, int):
            raise BadRequest(400, "timestamp: an integer")
        return json_reply(self.deliver(event, timestamp=timestamp, retries=obj.get("retries", 0)))

    # --- control API ---------------------------------------------------------

    def register_account(self, request):
        try:
            account = Account.from_json(request.json())
        except ValueError as exc:
            raise BadRequest(400, str(exc)) from exc
        with self.lock:
            self.accounts[account.secret_key] = account
        log(f"account {masked(account.secret_key)} registered, webhooks to {account.webhook_url}")
        return json_reply({"account": masked(account.secret_key)})

    def list_sessions(self, _request):
        with self.lock:
            return json_reply([dict(s) for s, _ in self.sessions.values()])

    def list_events(self, _request):
        with self.lock:
            return json_reply([e.to_json() for e in self.events.values()])


ROUTES = {
    "/v1/checkout/sessions": {"POST": Emulator.create_session},
    "/emulator/accounts": {"POST": Emulator.register_account},
    "/emulator/pay": {"POST": Emulator.pay},
    "/emulator/settle_delayed": {"POST": Emulator.settle_delayed},
    "/emulator/events": {"POST": Emulator.create_event, "GET": Emulator.list_events},
    "/emulator/replay": {"POST": Emulator.replay},
    "/emulator/sessions": {"GET": Emulator.list_sessions},
}
PREFIX_ROUTES = {"/pay/": {"GET": Emulator.payment_page, "POST": Emulator.pay},
                 "/v1/checkout/sessions/": {"POST": Emulator.expire_session}}


class Handler(emulator_http.Handler):
    server_version = "StripeEmulator/1.0"
    request_class = Request
    refusal = BadRequest

    def routes_for(self, path):
        methods = ROUTES.get(path)
        if methods is None:
            methods = next((m for p, m in PREFIX_ROUTES.items() if path.startswith(p)), None)
        return methods

    def not_found_message(self, path):
        return f"Unrecognized request URL ({self.command}: {path})."

    def error_reply(self, exc):
        if exc is None:
            return json_reply({"error": {"type": "api_error", "message": "internal error"}}, 500)
        error = {"type": exc.error_type, "message": str(exc)}
        if exc.param:
            error["param"] = exc.param
        return json_reply({"error": error}, exc.status)

    def log(self, message):
        log(message)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    emulator_http.add_arguments(parser, "webhook")
    args = parser.parse_args(argv)

    emulator = Emulator(args.retries, args.retry_delay, args.timeout)

    def bound(base_url):
        emulator.base_url = base_url

    emulator_http.serve(Handler, emulator, args.host, args.port, args.port_file, log, bound)


if __name__ == "__main__":
    main()
