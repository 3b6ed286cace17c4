"""Test harness for pmrobokassa's end-to-end tests and demo (stdlib only).

Starts lighttpd with the CGIs and the Robokassa emulator on loopback ports,
speaks HTTP without following redirects, parses HTML forms and runs the
module's commands. Every wait has a timeout so no test can hang.
"""

import html.parser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
# Imported by name: this module's http() function takes the name "http".
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
LIGHTTPD_TEMPLATE = HERE / "lighttpd.conf.in"
EMULATOR_SCRIPT = HERE.parent / "emulator" / "robokassa_emulator.py"
CGI_NAMES = ("rkpayment", "rkresult", "rksuccess", "rkfail", "rkrecurring")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
HTTP_TIMEOUT = 30.0
MODULE_TIMEOUT = 30.0


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read(path):
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _stop_process(process):
    """SIGTERM to the process we started (by its pid), SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _tail(path, limit=4000):
    return _read(path)[-limit:]


def _config_string(value):
    """value made safe inside a lighttpd "quoted string"."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


class OwnedProcess:
    """A server a test started (self.process): stop() ends it by its pid,
    and it works as a context manager around start()."""

    process = None

    def stop(self):
        if self.process is not None:
            _stop_process(self.process)
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_):
        self.stop()


class Lighttpd(OwnedProcess):
    """lighttpd serving /mancgi/<name> from bin_dir, for each of cgi_names
    only, with MGR5_ROOT set for the CGIs.

    Logs, pid file and the rendered config live in workdir (created if need be).
    Use as a context manager, or call start() and stop()."""

    def __init__(self, bin_dir, mgr5_root, workdir, port=None, cgi_names=CGI_NAMES):
        self.bin_dir = Path(bin_dir).resolve()
        self.mgr5_root = Path(mgr5_root).resolve()
        self.workdir = Path(workdir).resolve()
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.cgi_names = cgi_names
        self.config_path = self.workdir / "lighttpd.conf"
        self.pid_file = self.workdir / "lighttpd.pid"
        self.error_log = self.workdir / "lighttpd-error.log"
        self.access_log = self.workdir / "lighttpd-access.log"
        # lighttpd's own startup errors and the CGIs' stderr land here.
        self.stderr_path = self.workdir / "lighttpd.stderr"
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def render(self):
        """Writes the config from the template; returns its path."""
        document_root = self.workdir / "htdocs"
        document_root.mkdir(parents=True, exist_ok=True)
        values = {"PORT": self.port, "DOCUMENT_ROOT": document_root, "RUN_DIR": self.workdir,
                  "BIN_DIR": self.bin_dir, "MGR5_ROOT": self.mgr5_root,
                  "CGI_NAMES": "|".join(re.escape(name) for name in self.cgi_names)}
        config = LIGHTTPD_TEMPLATE.read_text(encoding="utf-8")
        for name, value in values.items():
            config = config.replace(f"@{name}@", _config_string(value))
        leftover = re.search(r"@[A-Z_]+@", config)
        if leftover:
            raise RuntimeError(f"{LIGHTTPD_TEMPLATE}: no value for {leftover.group()}")
        self.config_path.write_text(config, encoding="utf-8")
        return self.config_path

    def start(self):
        # A port from free_port() may be taken before lighttpd binds it;
        # then try another, unless the caller chose the port.
        for _ in range(1 if self.fixed_port else 3):
            if self._start_once():
                return self
            if not self.fixed_port:
                self.port = free_port()
        raise RuntimeError(f"lighttpd did not start on port {self.port}:\n"
                           f"{_tail(self.stderr_path)}{_tail(self.error_log)}")

    def _start_once(self):
        executable = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
        self.render()
        self.pid_file.unlink(missing_ok=True)
        with open(self.stderr_path, "ab") as stderr:
            self.process = subprocess.Popen([executable, "-D", "-f", str(self.config_path)],
                                            stdin=subprocess.DEVNULL, stdout=stderr,
                                            stderr=stderr)
        # lighttpd writes its pid file only after binding the port, so this
        # cannot mistake another program listening there for our server.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if _read(self.pid_file).strip() == str(self.process.pid):
                return True
            time.sleep(0.02)
        self.stop()
        return False


class EmulatorProcess(OwnedProcess):
    """A gateway emulator script (tests/emulator/) on a free loopback port;
    its log is workdir/NAME.log (workdir is created if need be). Use as a
    context manager, or call start() and stop()."""

    def __init__(self, script, name, workdir, retries, retry_delay, timeout):
        self.script = Path(script)
        self.name = name
        self.workdir = Path(workdir).resolve()
        self.args = ["--retries", str(retries), "--retry-delay", str(retry_delay),
                     "--timeout", str(timeout)]
        self.port_file = self.workdir / f"{name}.port"
        self.log_path = self.workdir / f"{name}.log"
        self.port = None
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(self.script), "--host", "127.0.0.1", "--port", "0",
                 "--port-file", str(self.port_file), *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.port_file.exists():
                self.port = int(self.port_file.read_text(encoding="ascii"))
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {self.name} did not start:\n{_tail(self.log_path)}")


class Emulator(EmulatorProcess):
    """The Robokassa emulator (tests/emulator/robokassa_emulator.py); its log
    is workdir/emulator.log."""

    def __init__(self, workdir, retries=5, retry_delay=0.2, timeout=5.0):
        super().__init__(EMULATOR_SCRIPT, "emulator", workdir, retries, retry_delay, timeout)

    @property
    def gateway_url(self):
        """Where a shop sends the customer: Robokassa's Index.aspx."""
        return f"{self.base_url}/Merchant/Index.aspx"

    def register_shop(self, shop):
        """Registers (or replaces) a shop; see the emulator's POST /emulator/shops."""
        response = http("POST", f"{self.base_url}/emulator/shops", json.dumps(shop),
                        headers={"Content-Type": "application/json"})
        if response.status != 200:
            raise RuntimeError(f"shop registration refused: {response.status} {response.text}")

    def operations(self):
        return http("GET", f"{self.base_url}/emulator/operations").json()


class Response(NamedTuple):
    status: int
    headers: HTTPMessage  # case-insensitive .get(), .get_all()
    body: bytes

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def http(method, url, data=None, headers=None, cookies=None, timeout=HTTP_TIMEOUT):
    """One HTTP request; redirects are returned, not followed.

    data: bytes or str sent as is, or a dict / list of pairs sent
    form-encoded (application/x-www-form-urlencoded). cookies: a dict."""
    headers = dict(headers or {})
    if isinstance(data, (dict, list, tuple)):
        data = urllib.parse.urlencode(data)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if isinstance(data, str):
        data = data.encode("utf-8")
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs are supported: {url}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    connection = HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


class Form(NamedTuple):
    action: str
    method: str  # upper case
    fields: dict  # name -> value of every named <input>, first one wins


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action") or "",
                                   (attrs.get("method") or "GET").upper(), {}))
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1].fields.setdefault(attrs["name"], attrs.get("value") or "")


def parse_forms(page):
    """Every <form> in an HTML page with its inputs (entities decoded)."""
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def run_module(bin_dir, mgr5_root, *args, stdin=None, timeout=MODULE_TIMEOUT,
               program="pmrobokassa"):
    """Runs `program --command ARGS...` with MGR5_ROOT set; text in and out."""
    env = {**os.environ, "MGR5_ROOT": str(mgr5_root)}
    return subprocess.run([str(Path(bin_dir) / program), "--command", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
