"""Drives one whole payment through real lighttpd, the four CGIs and the
Robokassa emulator, printing what each party sees. Run by scripts/demo.sh."""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
import rkharness  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def step(number, title):
    print(f"\n== {number}. {title}")


def show(label, value):
    print(f"   {label:<18} {value}")


def module(args, *command):
    result = rkharness.run_module(args.bin, args.root, *command)
    if result.returncode != 0:
        sys.exit(f"pmrobokassa {' '.join(command[:1])} failed: {result.stderr.strip()}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", default="build/bin", help="directory with the built programs")
    parser.add_argument("--stay", action="store_true",
                        help="keep the servers running and print a link to open in a browser")
    args = parser.parse_args()
    args.bin = os.path.abspath(args.bin)

    workdir = tempfile.mkdtemp(prefix="pmrobokassa-demo-")
    args.root = os.path.join(workdir, "mgr5")
    os.makedirs(os.path.join(args.root, "etc"))
    for sub in ("web", "emulator"):
        os.makedirs(os.path.join(workdir, sub))
    web = rkharness.Lighttpd(args.bin, args.root, os.path.join(workdir, "web"))
    emulator = rkharness.Emulator(os.path.join(workdir, "emulator"))
    try:
        web.start()
        emulator.start()
        with open(os.path.join(args.root, "etc", "pmrobokassa.conf"), "w") as conf:
            # The emulator learns the demo shop after the method is saved:
            # no credential check (it would ask the real Robokassa).
            conf.write(f"manager_url = {web.base_url}/billmgr\ncheck_credentials = off\n")

        step(1, "Servers on 127.0.0.1")
        show("MGR5_ROOT", args.root)
        show("lighttpd", web.base_url + "/mancgi/{rkpayment,rkresult,rksuccess,rkfail}")
        show("Robokassa emulator", emulator.base_url + "/Merchant/Index.aspx")

        step(2, "The billing admin adds Robokassa as a payment method")
        print(module(args, "config").strip())
        method_id = module(args, "method.add", "--name", "Robokassa (demo)",
                           "--shop-id", "demo-shop", "--password1", "DemoPass1word",
                           "--password2", "DemoPass2word", "--hash-algorithm", "sha256",
                           "--test-mode", "--gateway-url",
                           emulator.base_url + "/Merchant/Index.aspx").split()[0]
        print(module(args, "method.show", "--method", method_id).rstrip())
        emulator.register_shop({
            "login": "demo-shop", "password1": "DemoPass1word", "password2": "DemoPass2word",
            "hash": "sha256", "result_url": web.base_url + "/mancgi/rkresult",
            "success_url": web.base_url + "/mancgi/rksuccess",
            "fail_url": web.base_url + "/mancgi/rkfail", "url_method": "POST",
            "test_mode": True})

        step(3, "An invoice for a hosting customer")
        payment_id, link = module(args, "payment.add", "--method", method_id, "--amount",
                                  "990.00", "--description", "Хостинг, счёт на ноябрь",
                                  "--email", "customer@example.com").split()
        show("payment id", payment_id)
        show("payment link", web.base_url + link)

        if args.stay:
            print(f"\nOpen {web.base_url + link} in a browser; Ctrl-C stops the servers.")
            while True:
                time.sleep(3600)

        step(4, "The customer opens the link: rkpayment answers a signed form")
        page = rkharness.http("GET", web.base_url + link, headers={"Accept-Language": "en"})
        show("HTTP", page.status)
        form = rkharness.parse_forms(page.text)[0]
        show("form posts to", form.action)
        for name in ("MerchantLogin", "OutSum", "InvId", "SignatureValue", "IsTest", "Culture"):
            show(name, form.fields.get(name, ""))

        step(5, "The browser posts it to Robokassa (the emulator), which checks Password #1")
        gateway = rkharness.http("POST", form.action, data=form.fields)
        token = re.search(r'name="token" value="([0-9a-f]+)"', gateway.text)
        show("payment page", "shown" if token else "refused: " + gateway.text[:200])
        if not token:
            return 1

        step(6, "The customer pays; Robokassa calls ResultURL (rkresult) and redirects back")
        paid = rkharness.http("POST", emulator.base_url + "/emulator/pay",
                              data={"token": token.group(1)},
                              headers={"Accept": "application/json"}).json()
        for attempt in paid["result"]["attempts"]:
            show("rkresult replied", f"HTTP {attempt['status']} {attempt['body']!r}")
        redirect = paid["redirect"]
        if redirect["method"] == "GET":
            landing = rkharness.http("GET", redirect["url"] + "?" +
                                     urllib.parse.urlencode(redirect["fields"]))
        else:
            landing = rkharness.http("POST", redirect["url"], data=redirect["fields"])
        show("rksuccess", f"HTTP {landing.status} -> {landing.headers.get('Location')}")

        step(7, "The store now says")
        print(module(args, "payment.show", "--payment", payment_id).strip())
        status = re.search(r"<status>(\d+)</status>", module(args, "payment.show", "--payment",
                                                              payment_id)).group(1)
        print(f"\nPayment {payment_id} is in status {status} "
              f"({'paid' if status == '4' else 'NOT paid'}).")
        for log in sorted(os.listdir(os.path.join(args.root, "var"))):
            if log.endswith(".log"):
                with open(os.path.join(args.root, "var", log)) as f:
                    lines = f.read().splitlines()
                print(f"   {log}: {lines[-1] if lines else ''}")
        print(f"Logs: {os.path.join(args.root, 'var')}/*.log "
              f"(kept until the next reboot; remove {workdir} to clean up)")
        return 0 if status == "4" else 1
    except KeyboardInterrupt:
        return 0
    finally:
        emulator.stop()
        web.stop()
        if not os.environ.get("PMROBOKASSA_KEEP_DEMO") and not args.stay:
            # Keep the logs for a look: only the web server's scratch space goes.
            shutil.rmtree(os.path.join(workdir, "web"), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
