#!/usr/bin/env python3
"""The customer's path in a real browser, in Russian and English.

Starts, on 127.0.0.1, the Robokassa emulator and two lighttpd servers with
the four CGIs: one installation without manager_url (our own rksuccess /
rkfail pages show) and one with manager_url (they redirect to the panel).
Adds a test-mode method to each, creates one payment per flow, and runs
customer_path.mjs (Debian's chromium through playwright-core), which walks
each flow in the browser and saves screenshots. Then checks the store: a
paid flow's payment is in status 4, a cancelled one's is not.

    python3 tests/browser/run_browser_test.py [--bin build/bin]
        [--screenshots docs/screenshots] [--keep]

Needs: node, tests/browser/node_modules (npm ci in tests/browser) and
chromium (/usr/bin/chromium, or PMROBOKASSA_CHROMIUM). Exits 0 only when
every flow passed; the last line reads "N passed, N failed".
"""

import argparse
import json
import os
import re
import shutil
import html
import http.server
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "lib"))
import rkharness  # noqa: E402

SCRIPT = HERE / "customer_path.mjs"
NODE_MODULES = HERE / "node_modules"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
NODE_TIMEOUT = 120  # seconds; the script gives up by itself after 90

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}

# What each page must say, in each language (from core/pages.cpp and the
# emulator). payment's last phrase is the "continue" button, gateway's
# second and third the Pay and Cancel buttons.
TEXTS = {
    "payment": {"ru": ["Оплата счёта", "Переходим на страницу оплаты Robokassa",
                       "Перейти к оплате"],
                "en": ["Invoice payment", "Taking you to Robokassa's payment page",
                       "Continue to payment"]},
    "gateway": {"ru": ["Оплата заказа", "Оплатить", "Отказаться от оплаты"],
                "en": ["Order payment", "Pay", "Cancel"]},
    "gatewayReturn": {"ru": "Вернуться в магазин", "en": "Return to the shop"},
    "success": {"ru": ["Оплата получена", "ожидает подтверждения"],
                "en": ["Payment received", "awaiting confirmation"]},
    "fail": {"ru": ["Оплата не завершена", "деньги не списаны"],
             "en": ["Payment not completed", "no money was taken"]},
}

DESCRIPTIONS = {"ru": "Хостинг «Старт», счёт за ноябрь", "en": "Hosting “Start”, November invoice"}
ACCEPT = {"ru": "ru-RU,ru;q=0.9,en;q=0.5", "en": "en-US,en;q=0.9,ru;q=0.3"}
LOCALE = {"ru": "ru-RU", "en": "en-US"}


def flows():
    """Every flow: (name, installation, language, how it is chosen, JS, outcome, ...).

    'own' has no manager_url, 'panel' has one. With a cookie, Accept-Language
    says the other language, so the page shows the cookie won."""
    def flow(name, site, language, outcome, javascript=True, cookie=None, viewport=PHONE,
             screenshots=None):
        accept_language = "ru" if cookie and language == "en" else \
            "en" if cookie and language == "ru" else language
        return {"name": name, "site": site, "language": language, "outcome": outcome,
                "javaScript": javascript, "acceptLanguage": ACCEPT[accept_language],
                "locale": LOCALE[accept_language], "viewport": viewport,
                "cookie": {"name": "billmgrlang5", "value": cookie} if cookie else None,
                "screenshots": screenshots or {}}
    return [
        flow("ru_accept_language_pay", "own", "ru", "pay"),
        flow("en_accept_language_pay", "own", "en", "pay",
             screenshots={"success": "en-3-success.png"}),
        flow("ru_accept_language_cancel", "own", "ru", "cancel",
             screenshots={"fail": "ru-4-fail.png"}),
        flow("en_accept_language_cancel", "own", "en", "cancel"),
        flow("ru_cookie_no_javascript_pay", "own", "ru", "pay", javascript=False,
             cookie="billmgr:ru",
             screenshots={"payment": "ru-1-payment.png", "gateway": "ru-2-gateway.png",
                          "success": "ru-3-success.png"}),
        flow("en_cookie_no_javascript_cancel", "own", "en", "cancel", javascript=False,
             cookie="en",
             screenshots={"payment": "en-1-payment.png", "gateway": "en-2-gateway.png",
                          "fail": "en-4-fail.png"}),
        flow("ru_desktop_panel_pay", "panel", "ru", "pay", viewport=DESKTOP),
        flow("en_desktop_panel_cancel", "panel", "en", "cancel", viewport=DESKTOP),
    ]


def chromium_path():
    return os.environ.get("PMROBOKASSA_CHROMIUM") or DEFAULT_CHROMIUM


def missing_prerequisites():
    """What is not installed, as sentences (empty when all is there)."""
    missing = []
    if not shutil.which("node"):
        missing.append("node is not on PATH (apt-get install nodejs npm)")
    if not os.access(chromium_path(), os.X_OK):
        missing.append(f"{chromium_path()} is missing (apt-get install chromium)")
    if not (NODE_MODULES / "playwright-core" / "package.json").exists():
        missing.append(f"{NODE_MODULES}/playwright-core is missing (npm ci --prefix {HERE})")
    if not shutil.which("lighttpd") and not os.path.exists("/usr/sbin/lighttpd"):
        missing.append("lighttpd is missing (apt-get install lighttpd)")
    return missing


class PanelStub:
    """Stands in for BILLmanager at manager_url: any GET gets a tiny page
    naming the func and elid it was asked for; requests are recorded."""

    def __init__(self):
        stub = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server interface
                stub.requests.append(self.path)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                what = html.escape(" ".join(query.get("func", []) + query.get("elid", [])))
                body = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                        f"<title>BILLmanager</title></head><body><h1>BILLmanager</h1>"
                        f"<p>{what}</p></body></html>").encode()
                status = 404 if self.path == "/favicon.ico" else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/billmgr"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Site:
    """One installation: MGR5_ROOT, lighttpd, a test-mode method and its shop."""

    def __init__(self, name, bin_dir, workdir, emulator, manager_url=None):
        self.name = name
        self.bin_dir = bin_dir
        self.root = workdir / name / "mgr5"
        (self.root / "etc").mkdir(parents=True)
        self.web = rkharness.Lighttpd(bin_dir, self.root, workdir / name / "web")
        self.web.start()
        self.manager_url = manager_url
        lines = ["log_level = 6"]
        if self.manager_url:
            lines.append(f"manager_url = {self.manager_url}")
        (self.root / "etc" / "pmrobokassa.conf").write_text("\n".join(lines) + "\n")
        shop = f"browser-{name}"
        password1, password2 = f"Browser1{name}Pass", f"Browser2{name}Pass"
        self.method_id = self.module(
            "method.add", "--name", f"Robokassa ({name})", "--shop-id", shop,
            "--password1", password1, "--password2", password2, "--hash-algorithm", "sha256",
            "--test-mode", "--gateway-url", emulator.gateway_url).split()[0]
        emulator.register_shop({
            "login": shop, "password1": password1, "password2": password2, "hash": "sha256",
            "result_url": f"{self.web.base_url}/mancgi/rkresult",
            "success_url": f"{self.web.base_url}/mancgi/rksuccess",
            "fail_url": f"{self.web.base_url}/mancgi/rkfail",
            "url_method": "POST", "test_mode": True})

    def module(self, *args):
        result = rkharness.run_module(self.bin_dir, self.root, *args)
        if result.returncode != 0:
            raise RuntimeError(f"pmrobokassa {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def add_payment(self, description):
        payment_id, link = self.module("payment.add", "--method", self.method_id, "--amount",
                                       "990.00", "--description", description,
                                       "--email", "customer@example.com").split()
        return int(payment_id), self.web.base_url + link

    def status(self, payment_id):
        shown = self.module("payment.show", "--payment", str(payment_id))
        match = re.search(r"<status>(\d+)</status>", shown)
        return int(match.group(1)) if match else None

    def stop(self):
        self.web.stop()


def _run_node(plan_path, results_path, log_path):
    """node customer_path.mjs; SIGTERM first on a timeout, so playwright
    closes the browser it started, then SIGKILL."""
    env = {**os.environ, "RK_PLAN": str(plan_path), "RK_RESULTS": str(results_path)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["node", str(SCRIPT)], cwd=HERE, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            return process.wait(timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return None


def run(bin_dir, screenshot_dir, keep=False, echo=print):
    """Runs every flow. Returns {"flows": {name: {"errors": [...], ...}},
    "output": node's output, "seconds": float}."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="rk-browser-"))
    emulator = rkharness.Emulator(workdir / "emulator")
    panel = None
    sites = {}
    try:
        emulator.start()
        panel = PanelStub()
        sites["own"] = Site("own", bin_dir, workdir, emulator)
        sites["panel"] = Site("panel", bin_dir, workdir, emulator, manager_url=panel.url)
        specs = flows()
        for spec in specs:
            site = sites[spec["site"]]
            spec["paymentId"], spec["link"] = site.add_payment(DESCRIPTIONS[spec["language"]])
            spec["managerUrl"] = site.manager_url
            spec["texts"] = TEXTS
            if spec["cookie"]:
                # Cookies are per host, not port: the one on 127.0.0.1 reaches both sites.
                spec["cookie"]["url"] = site.web.base_url
        plan = {"chromium": chromium_path(), "screenshotDir": str(Path(screenshot_dir).resolve()),
                "gatewayUrl": emulator.gateway_url,
                "timeoutMs": 90_000, "flows": specs}
        plan_path, results_path = workdir / "plan.json", workdir / "results.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False, indent=2), encoding="utf-8")
        code = _run_node(plan_path, results_path, workdir / "node.log")
        output = (workdir / "node.log").read_text(encoding="utf-8", errors="replace")
        echo(output.rstrip())
        results = {}
        if results_path.exists():
            for flow in json.loads(results_path.read_text(encoding="utf-8"))["flows"]:
                results[flow["name"]] = flow
        for spec in specs:
            flow = results.setdefault(spec["name"], {
                "errors": [f"no result from the browser (node exit code {code})"], "notes": []})
            status = sites[spec["site"]].status(spec["paymentId"])
            flow["paymentId"], flow["status"] = spec["paymentId"], status
            if spec["outcome"] == "pay" and status != 4:
                flow["errors"].append(f"payment {spec['paymentId']} is in status {status}, "
                                      "not 4 (paid), after paying")
            if spec["outcome"] == "cancel" and status == 4:
                flow["errors"].append(f"payment {spec['paymentId']} is paid (4) after cancelling")
            if spec["managerUrl"]:
                func = "payment.success" if spec["outcome"] == "pay" else "payment.fail"
                expected = f"/billmgr?func={func}&elid={spec['paymentId']}"
                if expected not in panel.requests:
                    flow["errors"].append(f"the panel was not asked for {expected}: "
                                          f"{panel.requests}")
        return {"flows": results, "output": output, "node_exit": code,
                "seconds": time.monotonic() - started, "workdir": str(workdir)}
    finally:
        for site in sites.values():
            site.stop()
        if panel is not None:
            panel.stop()
        emulator.stop()
        if keep:
            echo(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin",
                        default=os.environ.get("PMROBOKASSA_BIN") or str(REPO / "build" / "bin"),
                        help="directory with the built programs")
    parser.add_argument("--screenshots", default=str(REPO / "docs" / "screenshots"),
                        help="where the screenshots go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    missing = missing_prerequisites()
    if missing:
        sys.exit("cannot run the browser test:\n  " + "\n  ".join(missing))
    outcome = run(os.path.abspath(args.bin), args.screenshots, keep=args.keep)
    failed = 0
    for name, flow in outcome["flows"].items():
        errors = flow["errors"]
        failed += bool(errors)
        print(f"{'FAIL' if errors else 'ok'}: {name} (payment {flow.get('paymentId')}, "
              f"status {flow.get('status')})")
        for note in flow.get("notes", []):
            print(f"    {note}")
        for error in errors:
            print(f"    ! {error}")
    total = len(outcome["flows"])
    print(f"browser test took {outcome['seconds']:.1f} s")
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
