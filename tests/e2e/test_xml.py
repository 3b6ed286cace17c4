"""What ships beside the programs: BILLmanager's XML description of
the module agrees with pmvalidate field for field, in Russian and English,
and the example etc/pmrobokassa.conf names every key the programs accept.

The module's knowledge is derived by running it, not copied into this test:
a field is one pmvalidate checks when a bad value in it is refused with an
error naming it; a config key is one the programs know when it is not
refused as unknown."""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(__file__))
from rkcase import BIN_DIR, rkharness  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
XML_PATH = REPO / "xml" / "billmgr_mod_pmrobokassa.xml"
CONFIG_EXAMPLE = REPO / "etc" / "pmrobokassa.conf"
MODULE = "pmrobokassa"
FORM = "paymethod.edit.robokassa"
HASH_ALGORITHMS = ["md5", "ripemd160", "sha1", "sha256", "sha384", "sha512"]
LANGUAGES = ("ru", "en")
# Refused by every rule pmvalidate has: a space and a '!' are outside every
# character set it allows, and it is neither a URL, "on"/"off" nor an algorithm.
BAD_VALUE = "bad value!"
# A valid value for each field of the form (test data, not the field list:
# test_every_form_field_has_a_sample says when a new field needs one).
VALID = {
    "shop_id": "demo_shop-1.0",
    "password1": "Passw0rd1",
    "password2": "Passw0rd2",
    "password3": "Passw0rd3",
    "hash_algorithm": "sha256",
    "test_mode": "on",
    "recurring": "off",
    "inc_curr_label": "BankCard",
    "gateway_url": "https://auth.robokassa.ru/Merchant/Index.aspx",
    "test_password1": "Test0pass1",
    "test_password2": "Test0pass2",
    "payment_lifetime": "24",
    "sno": "usn_income",
    "tax": "vat20",
    "payment_object": "service",
}
REQUIRED = ("shop_id", "password1", "password2")
PROBE_WORKERS = 4


def probe(function, candidates):
    """The candidates for which function(candidate) is true, run a few at a
    time: each is one run of the module."""
    candidates = sorted(candidates)
    with concurrent.futures.ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        return {c for c, hit in zip(candidates, pool.map(function, candidates)) if hit}


def module_strings():
    """Identifiers compiled into the module: NUL-delimited lower-case words."""
    data = (Path(BIN_DIR) / MODULE).read_bytes()
    return {m.decode() for m in re.findall(rb"(?<=\x00)[a-z][a-z0-9_]{1,40}(?=\x00)", data)}


def module_option_names():
    """`--shop-id` in the module's --help -> "shop_id"."""
    out = subprocess.run([str(Path(BIN_DIR) / MODULE), "--help"], capture_output=True,
                         text=True, timeout=30, check=False).stdout
    return {name.replace("-", "_") for name in re.findall(r"--([a-z][a-z0-9-]*)", out)}


class Description:
    """The parsed XML description."""

    def __init__(self, path=XML_PATH):
        self.root = ET.parse(path).getroot()

    def metadata(self):
        return self.root.find(f"metadata[@name='{FORM}']")

    def form_fields(self):
        """name -> the element that submits it (input, select, textarea)."""
        fields = {}
        for field in self.metadata().iter("field"):
            for control in field:
                if control.tag in ("input", "select", "textarea"):
                    fields[control.get("name")] = control
        return fields

    def field_order(self):
        return [field.get("name") for field in self.metadata().iter("field")]

    def slist(self, name):
        node = self.metadata().find(f"slist[@name='{name}']")
        return [] if node is None else [(msg.text or "").strip() for msg in node.findall("msg")]

    def messages(self, lang):
        """{messages name: {msg name: text}} of one language."""
        result = {}
        node = self.root.find(f"lang[@name='{lang}']")
        if node is None:
            return result
        for block in node.findall("messages"):
            msgs = result.setdefault(block.get("name"), {})
            for msg in block.findall("msg"):
                msgs.setdefault(msg.get("name"), []).append("".join(msg.itertext()))
        return result


class PluginDescription(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.xml = Description()
        cls.workdir = tempfile.mkdtemp(prefix="rk-xml-")
        # The samples are made up: pmvalidate must not ask Robokassa.
        os.makedirs(os.path.join(cls.workdir, "etc"))
        with open(os.path.join(cls.workdir, "etc", "pmrobokassa.conf"), "w") as f:
            f.write("check_credentials = off\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def pmvalidate(self, fields):
        doc = "<doc>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</doc>"
        result = rkharness.run_module(BIN_DIR, self.workdir, "pmvalidate", stdin=doc)
        self.assertEqual(result.returncode, 0, result.stderr)
        return ET.fromstring(result.stdout)

    def refused_field(self, fields):
        """The object of pmvalidate's <error>, or None when it accepts."""
        error = self.pmvalidate(fields).find("error")
        return None if error is None else error.get("object")

    def validated_fields(self, candidates):
        """The candidates pmvalidate checks: a bad value in one is refused
        naming it (the others hold valid values)."""
        base = {name: VALID[name] for name in REQUIRED}
        return probe(lambda name: self.refused_field({**base, name: BAD_VALUE}) == name,
                     candidates)

    def test_plugin_is_a_payment_method_named_like_the_module(self):
        plugin = self.xml.root.find("plugin")
        self.assertEqual(self.xml.root.tag, "mgrdata")
        self.assertEqual(plugin.get("name"), MODULE)
        self.assertEqual(plugin.findtext("group"), "payment_method")
        self.assertEqual(self.xml.metadata().get("type"), "form")

    def test_form_fields_and_pmvalidate_agree_both_ways(self):
        form = set(self.xml.form_fields())
        self.assertEqual(len(form), len(self.xml.field_order()), "a field is listed twice")
        candidates = form | module_option_names()
        # Every identifier in the binary too (a field pmvalidate checks but
        # neither form nor --help names), except in a sanitizer build, whose
        # runtime adds thousands of strings; the Release suite probes them.
        if os.environ.get("PMROBOKASSA_SANITIZED") != "1":
            candidates |= module_strings()
        validated = self.validated_fields(candidates)
        self.assertEqual(form - validated, set(), "form fields pmvalidate does not check")
        self.assertEqual(validated - form, set(), "fields pmvalidate checks missing from the form")

    def test_every_form_field_has_a_sample(self):
        self.assertEqual(set(self.xml.form_fields()), set(VALID))

    def test_a_form_filled_in_correctly_is_echoed_without_error(self):
        doc = self.pmvalidate({name: VALID[name] for name in self.xml.field_order()})
        self.assertIsNone(doc.find("error"), ET.tostring(doc))
        for name in self.xml.field_order():
            self.assertEqual(doc.findtext(name), VALID[name])

    def test_hash_algorithm_is_a_select_of_the_six(self):
        control = self.xml.form_fields()["hash_algorithm"]
        self.assertEqual(control.tag, "select")
        self.assertEqual(self.xml.slist("hash_algorithm"), HASH_ALGORITHMS)
        base = {name: VALID[name] for name in REQUIRED}
        for algorithm in HASH_ALGORITHMS:
            self.assertIsNone(self.refused_field({**base, "hash_algorithm": algorithm}), algorithm)
        self.assertEqual(self.refused_field({**base, "hash_algorithm": "md4"}), "hash_algorithm")

    def test_checkboxes_send_what_pmvalidate_accepts(self):
        fields = self.xml.form_fields()
        base = {name: VALID[name] for name in REQUIRED}
        for name in ("test_mode", "recurring"):
            self.assertEqual((fields[name].tag, fields[name].get("type")), ("input", "checkbox"))
            for value in ("on", "off"):
                self.assertIsNone(self.refused_field({**base, name: value}), (name, value))

    def test_passwords_are_private_password_inputs(self):
        fields = self.xml.form_fields()
        for name in ("password1", "password2", "password3", "test_password1", "test_password2"):
            self.assertEqual(fields[name].get("type"), "password", name)
            self.assertEqual(fields[name].get("private"), "yes", name)
        # Required in the form exactly where pmvalidate refuses an empty value.
        for name, control in fields.items():
            base = {n: VALID[n] for n in REQUIRED}
            refused = self.refused_field({**base, name: ""}) == name
            self.assertEqual(control.get("required") == "yes", refused, name)

    def test_both_languages_have_the_same_messages(self):
        ru, en = (self.xml.messages(lang) for lang in LANGUAGES)
        self.assertTrue(ru and en)
        self.assertEqual(set(ru), set(en))
        for block in ru:
            self.assertEqual(set(ru[block]), set(en[block]), block)
        for lang in LANGUAGES:
            for block, msgs in self.xml.messages(lang).items():
                for name, texts in msgs.items():
                    self.assertEqual(len(texts), 1, f"{lang}/{block}/{name} given twice")
                    self.assertTrue(texts[0].strip(), f"{lang}/{block}/{name} is empty")

    def test_every_field_and_choice_has_a_name_and_a_hint_in_each_language(self):
        for lang in LANGUAGES:
            messages = self.xml.messages(lang)
            form = messages.get(FORM, {})
            for name in self.xml.form_fields():
                self.assertIn(name, form, f"{lang}: no name for {name}")
                self.assertIn("hint_" + name, form, f"{lang}: no hint for {name}")
            for value in self.xml.slist("hash_algorithm"):
                self.assertIn(value, form, f"{lang}: no label for {value}")
            self.assertIn("desc_short_" + MODULE, messages.get("plugin", {}))
            self.assertIn("desc_full_" + MODULE, messages.get("plugin", {}))
            self.assertIn(MODULE, messages.get("label_paymethod", {}))
            self.assertIn("module_" + MODULE, messages.get("label_paymethod", {}))

    def test_hints_give_the_password_rules_and_the_three_urls(self):
        for lang in LANGUAGES:
            form = {k: v[0] for k, v in self.xml.messages(lang)[FORM].items()}
            for name in ("password1", "password2", "password3", "test_password1",
                         "test_password2"):
                self.assertIn("8", form["hint_" + name], f"{lang}: {name} length rule")
            every_text = " ".join(form.values())
            for cgi in ("rkresult", "rksuccess", "rkfail"):
                self.assertRegex(every_text, rf"https://<[^<>]+>/mancgi/{cgi}\b",
                                 f"{lang}: no {cgi} URL")
        russian = " ".join(v[0] for v in self.xml.messages("ru")[FORM].values())
        self.assertRegex(russian, "[А-Яа-я]")


class ConfigExample(unittest.TestCase):
    """etc/pmrobokassa.conf: every key but `billing = panel` commented out, every key the
    programs know, and each one accepted with its example value."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="rk-conf-")
        os.makedirs(os.path.join(self.root, "etc"))

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def load(self, text, root=None):
        root = root or self.root
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        with open(os.path.join(root, "etc", "pmrobokassa.conf"), "w") as f:
            f.write(text)
        return rkharness.run_module(BIN_DIR, root, "config")

    @staticmethod
    def uncommented(text):
        """The example with its commented "# key = value" lines enabled."""
        return re.sub(r"(?m)^# ([a-z_]+ = .*)$", r"\1", text)

    def example_keys(self):
        return re.findall(r"(?m)^(?:# )?([a-z_]+) = ", CONFIG_EXAMPLE.read_text(encoding="utf-8"))

    def known_keys(self, candidates):
        """The candidates the loader does not refuse as unknown: its answer
        for a key it cannot know is the reference."""
        def answer(key):
            # One installation per key: the probes run side by side.
            result = self.load(f"{key} = x\n", os.path.join(self.root, key))
            return result.returncode, result.stderr.replace(os.path.join(self.root, key), "ROOT")
        reference_key = "zz_no_such_key"
        code, message = answer(reference_key)
        self.assertNotEqual(code, 0, "an unknown key was accepted")
        self.assertIn(reference_key, message)

        def known(key):
            return answer(key) != (code, message.replace(reference_key, key))
        return probe(known, candidates)

    def test_as_shipped_only_panel_mode_is_set_and_it_loads(self):
        # The package installs the module into BILLmanager: panel mode.
        text = CONFIG_EXAMPLE.read_text(encoding="utf-8")
        active = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        self.assertEqual(active, ["billing = panel"])
        result = self.load(text)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_every_key_uncommented_is_accepted(self):
        text = self.uncommented(CONFIG_EXAMPLE.read_text(encoding="utf-8"))
        keys = re.findall(r"(?m)^([a-z_]+) = ", text)
        self.assertEqual(len(keys), len(set(keys)), "a key is given twice")
        self.assertEqual(sorted(keys), sorted(self.example_keys()))
        result = self.load(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("<feature>", result.stdout)
        # The file really is read: one wrong key in it is refused by name.
        result = self.load(text + "no_such_key = 1\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no_such_key", result.stderr)

    # The keys are the source's, not the build's; a sanitizer build carries
    # thousands of its runtime's strings, one module run each to probe.
    @unittest.skipIf(os.environ.get("PMROBOKASSA_SANITIZED") == "1",
                     "checked by the Release suite")
    def test_the_example_names_every_key_the_programs_know(self):
        documented = set(self.example_keys())
        known = self.known_keys(module_strings() | documented)
        self.assertEqual(documented - known, set(), "keys the programs do not know")
        self.assertEqual(known - documented, set(), "keys missing from the example")


if __name__ == "__main__":
    unittest.main()
