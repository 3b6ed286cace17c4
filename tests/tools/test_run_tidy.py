"""scripts/run_tidy.py on a two-file library with this tree's .clang-tidy: a
clean tree passes, and a finding inside a file the unity source #includes,
or an #include of a .cpp file, fails it by file and line."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN_TIDY = ROOT / "scripts" / "run_tidy.py"
CLANG_TIDY = shutil.which("clang-tidy") or shutil.which("clang-tidy-14")

PROJECT = """cmake_minimum_required(VERSION 3.18)
project(tidied CXX)
set(CMAKE_CXX_STANDARD 17)
add_library(tidied STATIC core/a.cpp core/b.cpp)
"""


@unittest.skipUnless(CLANG_TIDY, "clang-tidy is not installed")
class RunTidy(unittest.TestCase):
    def setUp(self):
        self.tree = pathlib.Path(tempfile.mkdtemp(prefix="rk-tidy-"))
        self.addCleanup(shutil.rmtree, self.tree)
        shutil.copy(ROOT / ".clang-tidy", self.tree / ".clang-tidy")
        (self.tree / "CMakeLists.txt").write_text(PROJECT)
        (self.tree / "core").mkdir()
        self.write("a.cpp", "int twice(int x) { return 2 * x; }\n")
        self.write("b.cpp", "int thrice(int x) { return 3 * x; }\n")

    def write(self, name, text):
        (self.tree / "core" / name).write_text(text)

    def run_tidy(self):
        return subprocess.run([sys.executable, str(RUN_TIDY), "--clang-tidy", CLANG_TIDY,
                               str(self.tree), str(self.tree / "build")],
                              capture_output=True, text=True, timeout=120)

    def test_a_clean_tree_passes_as_one_unity_source(self):
        result = self.run_tidy()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("2 files in 1 unity sources, 0 with findings", result.stdout)

    def test_a_finding_in_an_included_file_is_reported_by_its_name(self):
        self.write("b.cpp", "int thrice(int x) { return 3 * x; }\n"
                            "double half() { return 3 / 2; }\n")
        result = self.run_tidy()
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(f"{self.tree}/core/b.cpp:2:", result.stdout)
        self.assertIn("bugprone-integer-division", result.stdout)

    def test_including_an_implementation_file_is_reported(self):
        self.write("c.cpp", "int four() { return 4; }\n")
        self.write("a.cpp", '#include "c.cpp"\nint twice(int x) { return 2 * x; }\n')
        result = self.run_tidy()
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(f"{self.tree}/core/a.cpp:1: includes the implementation file c.cpp",
                      result.stdout)


if __name__ == "__main__":
    unittest.main()
