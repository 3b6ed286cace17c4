"""What the gateway emulators (robokassa_emulator.py, stripe_emulator.py)
share: the reply type, a request whose body is read once under a cap,
POSTing to the shop without following redirects, writing a reply, and
serving on a port a test can learn from a file. Standard library only."""

import http.client
import http.server
import json
import os
import signal
import sys
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: dict = field(default_factory=dict)


def json_reply(obj, status=200):
    return Reply(status, "application/json", json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def json_string(obj, name, required=True):
    """obj[name] from a registration object: a string, non-empty when
    required; ValueError naming the field otherwise."""
    value = obj.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{name}: a non-empty string is required")
    return value


def json_http_url(obj, name):
    """obj[name] as a plain http:// URL (the shop is on loopback)."""
    value = json_string(obj, name)
    if urllib.parse.urlsplit(value).scheme != "http":
        raise ValueError(f"{name}: an http:// URL is required")
    return value


class Request:
    """One HTTP request: path, query and body, read once. `error` is the
    emulator's refusal, built as error(status, message)."""

    error = ValueError
    max_body = 1024 * 1024

    def __init__(self, handler, url):
        self.headers = handler.headers
        self.path = url.path
        self.query = url.query
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise self.error(400, "malformed Content-Length") from exc
        if length > self.max_body:
            raise self.error(413, "request body too large")
        self.body = handler.rfile.read(length) if length > 0 else b""

    @property
    def wants_json(self):
        return "application/json" in self.headers.get("Accept", "")


def post(url, body, headers, timeout):
    """POSTs body to url without following redirects. Returns (status,
    body); a network failure is status 0 with the error as the body, so it
    is recorded as a failed attempt like any other."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def deliver_with_retries(attempt_once, retries, retry_delay):
    """Calls attempt_once() until it reports acceptance or retries run out,
    waiting retry_delay seconds between attempts, as both services retry a
    notification the shop did not take. attempt_once returns (record,
    accepted); the result is {"accepted": …, "attempts": [record, …]}."""
    attempts = []
    accepted = False
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(retry_delay)
        record, accepted = attempt_once(attempt + 1)
        attempts.append(record)
        if accepted:
            break
    return {"accepted": accepted, "attempts": attempts}


def send_reply(handler, reply):
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    handler.send_header("Content-Length", str(len(reply.body)))
    handler.send_header("Cache-Control", "no-store")
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(reply.body)


class Handler(http.server.BaseHTTPRequestHandler):
    """Dispatches GET and POST to fn(emulator, request) by path and method.
    A subclass names its routes, its Request and refusal types, how a
    refusal or a bug (exc None) is answered, and where its log goes."""

    request_class = Request
    refusal = ValueError

    def routes_for(self, path):
        raise NotImplementedError

    def error_reply(self, exc):
        raise NotImplementedError

    def not_found_message(self, path):
        return f"no such endpoint: {path}"

    def log(self, message):
        print(message, file=sys.stderr, flush=True)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        methods = self.routes_for(url.path)
        try:
            if methods is None:
                raise self.refusal(404, self.not_found_message(url.path))
            handler = methods.get(self.command)
            if handler is None:
                raise self.refusal(405, f"{self.command} is not allowed here")
            reply = handler(self.server.emulator, self.request_class(self, url))
        except self.refusal as exc:
            reply = self.error_reply(exc)
        except Exception:  # pylint: disable=broad-except - a bug must not kill the server
            traceback.print_exc(file=sys.stderr)
            reply = self.error_reply(None)
        send_reply(self, reply)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        # One line per request; request lines carry no secret (passwords and
        # keys travel in bodies and headers).
        self.log(f"{self.address_string()} {format % args}")


def add_arguments(parser, callback):
    """The options both emulators take; `callback` names what they deliver
    to the shop ("ResultURL", "webhook")."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--retries", type=int, default=5,
                        help=f"{callback} retries after the first attempt")
    parser.add_argument("--retry-delay", type=float, default=0.2, help="seconds between attempts")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help=f"seconds to wait for each {callback} reply")


def serve(handler_class, emulator, host, port, port_file, log, on_bound=None):
    """Serves until SIGTERM. on_bound(base_url) runs once the port is known
    and before port_file (if any) announces it."""
    server = http.server.ThreadingHTTPServer((host, port), handler_class)
    server.emulator = emulator
    base_url = f"http://{host}:{server.server_address[1]}"
    if on_bound:
        on_bound(base_url)
    if port_file:
        # Written via rename so a reader never sees a partial number.
        temporary = f"{port_file}.tmp"
        with open(temporary, "w", encoding="ascii") as file:
            file.write(f"{server.server_address[1]}\n")
        os.replace(temporary, port_file)
    log(f"listening on {base_url}")
    # SIGTERM ends serve_forever through SystemExit, so the socket is closed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
