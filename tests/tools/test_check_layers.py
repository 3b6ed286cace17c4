"""scripts/check_layers.py: the tree passes, and an include against the
layering (or by a bare name) is caught."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_layers.py"


def run(tree):
    return subprocess.run([sys.executable, str(CHECK), str(tree)], capture_output=True, text=True)


class CheckLayers(unittest.TestCase):
    def setUp(self):
        self.tree = pathlib.Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tree)
        shutil.copytree(ROOT / "core", self.tree / "core")

    def test_the_tree_includes_one_way(self):
        result = run(ROOT)
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_util_including_billing_is_a_violation(self):
        text = self.tree / "core" / "util" / "text.cpp"
        text.write_text('#include "billing/store.hpp"\n' + text.read_text())
        result = run(self.tree)
        self.assertEqual(result.returncode, 1)
        self.assertIn("core/util/text.cpp:1: util must not include billing/store.hpp", result.stdout)

    def test_stripe_including_robokassa_is_a_violation(self):
        hook = self.tree / "core" / "stripe" / "webhook.cpp"
        hook.write_text('#include "robokassa/signature.hpp"\n' + hook.read_text())
        result = run(self.tree)
        self.assertEqual(result.returncode, 1)
        self.assertIn("stripe must not include robokassa/signature.hpp", result.stdout)

    def test_a_bare_core_header_name_is_a_violation(self):
        form = self.tree / "core" / "util" / "form.cpp"
        form.write_text('#include "text.hpp"\n' + form.read_text())
        result = run(self.tree)
        self.assertEqual(result.returncode, 1)
        self.assertIn('include "text.hpp" by its layer path', result.stdout)

    def test_a_source_outside_the_layer_folders_is_a_violation(self):
        (self.tree / "core" / "loose.cpp").write_text("int x;\n")
        result = run(self.tree)
        self.assertEqual(result.returncode, 1)
        self.assertIn("core/loose.cpp: a source outside every layer folder", result.stdout)


if __name__ == "__main__":
    unittest.main()
