"""Helpers for the reliability suites: HTTP on a raw socket, a CGI
run directly as CGI/1.1 without a web server, and a snapshot of the store
to prove a request changed nothing. Stdlib only."""

import os
import re
import socket
import sqlite3
import subprocess
from typing import NamedTuple, Optional

RAW_TIMEOUT = 10.0


class RawReply(NamedTuple):
    status: Optional[int]  # None: the connection closed without a reply
    headers: dict  # lower-case name -> value (the last one wins)
    body: bytes

    @property
    def from_cgi(self):
        """Whether our CGI wrote the reply (its replies all carry nosniff),
        rather than the web server refusing the request itself."""
        return self.headers.get("x-content-type-options") == "nosniff"


def parse_reply(data, status_line_prefix=b"HTTP/"):
    """A reply as bytes (an HTTP response, or a CGI's `Status:` output)."""
    if not data:
        return RawReply(None, {}, b"")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    status = None
    first = lines[0]
    if first.startswith(status_line_prefix):
        status = int(first.split()[1])
        lines = lines[1:]
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower().decode("latin-1")
        value = value.strip().decode("latin-1")
        if name == "status" and status is None:
            status = int(value.split()[0])
        headers[name] = value
    return RawReply(status, headers, body)


def raw_http(port, request, shut_write=True, timeout=RAW_TIMEOUT):
    """Sends `request` bytes as they are to 127.0.0.1:port and reads until
    the server closes. shut_write: half-close after sending, as a client
    that has nothing more to say (a body shorter than its Content-Length
    then ends at EOF)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            if shut_write:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413, say) before reading it all
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return parse_reply(b"".join(chunks))


def http_request(method, target, body=b"", headers=None, host="127.0.0.1"):
    """An HTTP/1.1 request as bytes, with Content-Length from the body
    unless `headers` names one (or is told None to leave it out)."""
    headers = dict(headers or {})
    headers.setdefault("Host", host)
    headers.setdefault("Connection", "close")
    if "Content-Length" not in headers and (body or method == "POST"):
        headers["Content-Length"] = str(len(body))
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1")]
    for name, value in headers.items():
        if value is not None:
            lines.append(f"{name}: {value}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def run_cgi(bin_dir, program, mgr5_root, env, stdin=b"", timeout=30):
    """Runs a CGI program directly with exactly these CGI variables (plus
    MGR5_ROOT and what sanitizers need) and `stdin` as the body."""
    full_env = {"MGR5_ROOT": str(mgr5_root), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            full_env[name] = os.environ[name]
    full_env.update(env)
    result = subprocess.run([os.path.join(bin_dir, program)], input=stdin, env=full_env,
                            capture_output=True, timeout=timeout, check=False)
    reply = parse_reply(result.stdout, status_line_prefix=b"\x00never")
    return reply, result


def store_path(mgr5_root):
    return os.path.join(mgr5_root, "var", "pmrobokassa.db")


def snapshot(mgr5_root):
    """What a refused request must leave as it was: every payment and the
    status history. (The notification journal grows by design.)"""
    db = sqlite3.connect(store_path(mgr5_root), timeout=30)
    try:
        payments = db.execute("SELECT id, method_id, amount, status, external_id, refunded, "
                              "updated_at, paid_at FROM payments ORDER BY id").fetchall()
        history = db.execute("SELECT * FROM status_history ORDER BY id").fetchall()
        return payments, history
    finally:
        db.close()


def query(mgr5_root, sql, *params):
    db = sqlite3.connect(store_path(mgr5_root), timeout=30)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def markdown_table(header, rows):
    """Rows of strings as a Markdown table (for README)."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] +
                     [line(row) for row in rows])


