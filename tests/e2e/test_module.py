"""pmrobokassa's command line (docs/interface.md §3): BILLmanager's
commands and the standalone administration, run as the panel would."""

import os
import sqlite3
import sys
import tempfile
import shutil
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rkharness  # noqa: E402

BIN_DIR = os.environ.get("PMROBOKASSA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
GOOD = {"shop_id": "demo", "password1": "Pass1word", "password2": "Pass2word",
        "hash_algorithm": "sha256", "test_mode": "on"}


class Module(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="rk-module-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        # Made-up credentials: saving them must not ask Robokassa
        # (test_credentials.py asks the emulator).
        os.makedirs(os.path.join(self.root, "etc"))
        with open(os.path.join(self.root, "etc", "pmrobokassa.conf"), "w") as f:
            f.write("check_credentials = off\n")

    def run_module(self, *args, stdin=None):
        return rkharness.run_module(BIN_DIR, self.root, *args, stdin=stdin)

    def count(self, table):
        db = sqlite3.connect(os.path.join(self.root, "var", "pmrobokassa.db"))
        try:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            db.close()

    def pmvalidate(self, **changes):
        fields = {**GOOD, **changes}
        doc = "<doc>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</doc>"
        return self.run_module("pmvalidate", stdin=doc)

    def test_config_names_the_features_and_the_payment_script(self):
        out = self.run_module("config")
        self.assertEqual(out.returncode, 0)
        for feature in ("redirect", "notneedprofile", "pmvalidate", "checkpay"):
            self.assertIn(f"<{feature}>on</{feature}>", out.stdout)
        self.assertIn("<payment_script>/mancgi/rkpayment</payment_script>", out.stdout)

    def test_pmvalidate_accepts_a_valid_form_and_echoes_it(self):
        out = self.pmvalidate()
        self.assertEqual(out.returncode, 0)
        self.assertNotIn("<error", out.stdout)
        self.assertIn("<shop_id>demo</shop_id>", out.stdout)

    def test_pmvalidate_names_the_first_bad_field(self):
        cases = [({"password1": "Pass1wo"}, "password1"),
                 ({"password1": "Passwords"}, "password1"),
                 ({"password2": "12345678"}, "password2"),
                 ({"password2": "Pass1word"}, "password2"),
                 ({"hash_algorithm": "crc32"}, "hash_algorithm"),
                 ({"shop_id": ""}, "shop_id"),
                 ({"gateway_url": "http://pay.example.com/x"}, "gateway_url")]
        for changes, field in cases:
            with self.subTest(changes=changes):
                out = self.pmvalidate(**changes)
                self.assertEqual(out.returncode, 0)
                self.assertIn(f'<error type="value" object="{field}">', out.stdout)

    def test_unknown_command_prints_usage_and_exits_2(self):
        out = self.run_module("no.such.command")
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown command", out.stderr)
        self.assertIn("--command", out.stderr)

    def test_method_add_with_a_bad_field_exits_2_and_stores_nothing(self):
        self.assertEqual(self.run_module("method.add", "--name", "ok", "--shop-id", "demo",
                                         "--password1", "Pass1word",
                                         "--password2", "Pass2word").returncode, 0)
        out = self.run_module("method.add", "--name", "bad", "--shop-id", "demo",
                              "--password1", "Pass1word", "--password2", "nodigits")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--password2", out.stderr)
        self.assertEqual(self.count("methods"), 1)

    def test_payment_round_trip_unknown_id_and_taken_explicit_id(self):
        self.run_module("method.add", "--name", "m", "--shop-id", "demo",
                        "--password1", "Pass1word", "--password2", "Pass2word")
        added = self.run_module("payment.add", "--method", "1", "--amount", "990", "--id", "77")
        self.assertEqual(added.returncode, 0, added.stderr)
        lines = added.stdout.splitlines()
        self.assertEqual(lines[0], "77")
        self.assertRegex(lines[1], r"^/mancgi/rkpayment\?elid=77&key=[0-9a-f]{32}$")
        shown = self.run_module("payment.show", "--payment", "77").stdout
        for element in ("<id>77</id>", "<status>1</status>", "<amount>990.00</amount>",
                        "<currency>RUB</currency>", "<method>1</method>"):
            self.assertIn(element, shown)
        self.assertEqual(self.run_module("payment.show", "--payment", "78").returncode, 2)
        taken = self.run_module("payment.add", "--method", "1", "--amount", "5", "--id", "77")
        self.assertEqual(taken.returncode, 2)
        self.assertIn("--id", taken.stderr)
        self.assertEqual(self.count("payments"), 1)

    def test_method_show_masks_passwords_and_gives_the_urls(self):
        with open(os.path.join(self.root, "etc", "pmrobokassa.conf"), "a") as f:
            f.write("manager_url = https://my.example.com/billmgr\n")
        self.run_module("method.add", "--name", "m", "--shop-id", "demo",
                        "--password1", "Pass1word", "--password2", "Pass2word")
        out = self.run_module("method.show", "--method", "1").stdout
        self.assertNotIn("Pass1word", out)
        self.assertNotIn("Pass2word", out)
        for cgi in ("rkresult", "rksuccess", "rkfail"):
            self.assertIn(f"https://my.example.com/mancgi/{cgi}", out)


if __name__ == "__main__":
    unittest.main()
