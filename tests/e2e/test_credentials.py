"""Saving a Robokassa method asks Robokassa whether its credentials are right
(pmvalidate and method.add, through opstate_url, here the emulator), and the
test password pair signs and verifies whenever test mode is on."""

import os
import re
import socket
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import MANAGER_URL, RkCase, digest, rkharness  # noqa: E402

CHECK_TIMEOUT = 2
# Start-up of the module and the scheduler's slack on a busy machine.
MARGIN = 2.0


class CredentialCheck(RkCase):
    config_lines = ["manager_url = " + MANAGER_URL,
                    "opstate_url = {emulator}/Merchant/WebService/Service.asmx/OpStateExt",
                    "check_credentials = on", f"check_timeout = {CHECK_TIMEOUT}"]

    def setUp(self):
        self.conf = os.path.join(self.root, "etc", "pmrobokassa.conf")
        with open(self.conf, encoding="utf-8") as f:
            self.saved_conf = f.read()
        self.addCleanup(self.restore_conf)

    def restore_conf(self):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.saved_conf)

    def point_opstate_at(self, url):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(re.sub(r"(?m)^opstate_url = .*$", f"opstate_url = {url}", self.saved_conf))

    def register(self, login, algorithm="sha256", test_mode=False, test_pair=False):
        shop = {"login": login, "password1": "Pass1" + login, "password2": "Pass2" + login,
                "hash": algorithm, "result_url": self.web.base_url + "/mancgi/rkresult",
                "success_url": self.web.base_url + "/mancgi/rksuccess",
                "fail_url": self.web.base_url + "/mancgi/rkfail", "test_mode": test_mode}
        if test_pair:
            shop.update(test_password1="Test1" + login, test_password2="Test2" + login)
        self.emulator.register_shop(shop)
        return shop

    @staticmethod
    def form(shop, **changes):
        fields = {"shop_id": shop["login"], "password1": shop["password1"],
                  "password2": shop["password2"], "hash_algorithm": shop["hash"],
                  "test_mode": "on" if shop["test_mode"] else "off"}
        if "test_password1" in shop:
            fields.update(test_password1=shop["test_password1"],
                          test_password2=shop["test_password2"])
        fields.update(changes)
        return fields

    def pmvalidate(self, fields):
        doc = "<doc>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</doc>"
        result = self.module("pmvalidate", stdin=doc)
        return ET.fromstring(result.stdout)

    def method_add(self, fields):
        args = ["method.add", "--name", "m"]
        for name, value in fields.items():
            if name == "test_mode":
                args += ["--test-mode"] if value == "on" else []
            else:
                args += ["--" + name.replace("_", "-"), value]
        return self.module(*args, check=False)

    def method_count(self):
        return self.module("method.list").stdout.count("\n") - 1

    def assert_refused(self, fields, field, *words):
        doc = self.pmvalidate(fields)
        error = doc.find("error")
        self.assertIsNotNone(error, ET.tostring(doc))
        self.assertEqual(error.get("type"), "value")
        self.assertEqual(error.get("object"), field)
        message = error.findtext("msg")
        for word in words:
            self.assertIn(word, message)
        for name in ("password1", "password2", "test_password1", "test_password2"):
            if fields.get(name):
                self.assertNotIn(fields[name], message)
        before = self.method_count()
        added = self.method_add(fields)
        self.assertEqual(added.returncode, 2, added.stdout)
        self.assertIn("--" + field.replace("_", "-"), added.stderr)
        self.assertEqual(self.method_count(), before)
        return message

    def assert_not_checked(self, fields):
        started = time.monotonic()
        doc = self.pmvalidate(fields)
        elapsed = time.monotonic() - started
        self.assertIsNone(doc.find("error"), ET.tostring(doc))
        note = doc.find("credentials_check")
        self.assertIsNotNone(note, ET.tostring(doc))
        self.assertEqual(note.get("status"), "not_checked")
        self.assertIn("could not be asked", note.text)
        self.assertLess(elapsed, CHECK_TIMEOUT + MARGIN)
        started = time.monotonic()
        added = self.method_add(fields)
        self.assertLess(time.monotonic() - started, CHECK_TIMEOUT + MARGIN)
        self.assertEqual(added.returncode, 0, added.stderr)
        lines = added.stdout.splitlines()
        self.assertRegex(lines[0], r"^[0-9]+$")
        self.assertIn("not checked", lines[1])
        log = rkharness._read(os.path.join(self.root, "var", "pmrobokassa.log"))
        self.assertIn("WARNING credentials not checked", log)
        return elapsed

    def test_the_right_set_is_accepted_without_a_note(self):
        for algorithm in ("md5", "sha256", "sha512"):
            with self.subTest(algorithm=algorithm):
                shop = self.register("right_" + algorithm, algorithm)
                doc = self.pmvalidate(self.form(shop))
                self.assertIsNone(doc.find("error"), ET.tostring(doc))
                self.assertIsNone(doc.find("credentials_check"))
                added = self.method_add(self.form(shop))
                self.assertEqual(added.returncode, 0, added.stderr)
                self.assertEqual(len(added.stdout.splitlines()), 1, added.stdout)

    def test_a_wrong_password2_is_refused_naming_it(self):
        shop = self.register("wrong_p2")
        message = self.assert_refused(self.form(shop, password2="Wrong2pass"), "password2",
                                      "Password #2")
        self.assertIn("refused the signature", message)

    def test_a_wrong_hash_algorithm_is_refused_naming_it_and_the_right_one(self):
        shop = self.register("wrong_alg", "sha256")
        message = self.assert_refused(self.form(shop, hash_algorithm="md5"), "hash_algorithm",
                                      "sha256")
        self.assertIn("technical settings", message)

    def test_an_unknown_shop_is_refused_naming_shop_id(self):
        shop = self.register("known_shop")
        self.assert_refused(self.form(shop, shop_id="unknown_shop"), "shop_id", "unknown_shop")

    def test_password1_is_not_asked_about(self):
        # Robokassa answers nothing signed with Password #1 without a
        # customer, so a wrong one cannot be caught when saving.
        shop = self.register("p1_unchecked")
        doc = self.pmvalidate(self.form(shop, password1="Other1pass"))
        self.assertIsNone(doc.find("error"), ET.tostring(doc))

    def test_test_mode_asks_with_the_test_password2(self):
        shop = self.register("with_test_pair", test_mode=True, test_pair=True)
        doc = self.pmvalidate(self.form(shop))
        self.assertIsNone(doc.find("error"), ET.tostring(doc))
        message = self.assert_refused(self.form(shop, test_password2="Wrong2test"), "password2",
                                      "test Password #2")
        self.assertIn("test pair", message)
        # The live Password #2 in the test slot is what Robokassa's error
        # 29 is about: refused too.
        self.assert_refused(self.form(shop, test_password2=shop["password2"]), "password2")

    def test_a_refused_port_is_accepted_unchecked_at_once(self):
        shop = self.register("closed_port")
        self.point_opstate_at(f"http://127.0.0.1:{rkharness.free_port()}/OpStateExt")
        self.assert_not_checked(self.form(shop))

    def test_a_robokassa_that_never_answers_is_accepted_unchecked_within_the_timeout(self):
        shop = self.register("silent")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            # Connections complete in the kernel's backlog and nobody answers.
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            self.point_opstate_at(f"http://127.0.0.1:{silent.getsockname()[1]}/OpStateExt")
            elapsed = self.assert_not_checked(self.form(shop, password2="Wrong2pass"))
        self.assertGreaterEqual(elapsed, CHECK_TIMEOUT - 0.5)  # it did wait for Robokassa

    def test_the_switch_turns_the_question_off(self):
        shop = self.register("switched_off")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.saved_conf.replace("check_credentials = on", "check_credentials = off"))
        doc = self.pmvalidate(self.form(shop, password2="Wrong2pass"))
        self.assertIsNone(doc.find("error"), ET.tostring(doc))
        self.assertIsNone(doc.find("credentials_check"))


class TestPasswordPair(RkCase):
    """Test mode signs the form and SuccessURL with test Password #1 and
    verifies ResultURL with test Password #2; live mode uses the live pair.
    The emulator knows both pairs and, like Robokassa, takes only the test
    pair for test payments."""

    def pay_signed_with(self, method, password1):
        """A whole payment: the form must be signed with password1, and
        Robokassa's notification and SuccessURL (signed with the pair the
        emulator uses for this mode) must be taken."""
        payment_id, link = self.add_payment(method, "990.00")
        form, paid = self.pay_through_gateway(link)
        expected = digest(method["hash"], f"{method['shop']}:990.00:{payment_id}:{password1}")
        self.assertEqual(form.fields["SignatureValue"], expected)
        self.assertTrue(paid["result"]["accepted"], paid)
        self.assertEqual(self.status(payment_id), 4)
        landing = self.post("/mancgi/rksuccess", paid["redirect"]["fields"])
        self.assertEqual(landing.status, 302, landing.body)
        return form

    def test_test_mode_signs_and_verifies_with_the_test_pair(self):
        method = self.add_method("sha256", test_mode=True, shop="pair_test", test_pair=True)
        form = self.pay_signed_with(method, method["test_password1"])
        self.assertEqual(form.fields["IsTest"], "1")

        # The live Password #2 no longer verifies a test-mode notification.
        other_id, _ = self.add_payment(method, "990.00")
        live = self.post("/mancgi/rkresult", self.result_fields(method, other_id, IsTest="1"))
        self.assertEqual(live.status, 403, live.body)
        test = self.post("/mancgi/rkresult",
                         self.result_fields(method, other_id, IsTest="1",
                                            password=method["test_password2"]))
        self.assertEqual((test.status, test.body), (200, f"OK{other_id}".encode()))

    def test_live_mode_signs_and_verifies_with_the_live_pair(self):
        method = self.add_method("md5", test_mode=False, shop="pair_live", test_pair=True)
        form = self.pay_signed_with(method, method["password1"])
        self.assertNotIn("IsTest", form.fields)
        other_id, _ = self.add_payment(method, "990.00")
        test = self.post("/mancgi/rkresult",
                         self.result_fields(method, other_id, password=method["test_password2"]))
        self.assertEqual(test.status, 403, test.body)

    def test_method_show_masks_the_test_pair(self):
        method = self.add_method("md5", test_mode=True, shop="pair_show", test_pair=True)
        shown = self.module("method.show", "--method", method["id"]).stdout
        self.assertRegex(shown, r"test_password1: +\*{8}")
        self.assertRegex(shown, r"test_password2: +\*{8}")
        for secret in ("password1", "password2", "test_password1", "test_password2"):
            self.assertNotIn(method[secret], shown)


if __name__ == "__main__":
    unittest.main()
