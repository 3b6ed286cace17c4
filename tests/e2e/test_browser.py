"""The customer's path in a real browser (Debian's chromium through
playwright-core), in Russian and English, paid and cancelled, with and
without JavaScript, with and without manager_url.

The browser work is tests/browser/run_browser_test.py and customer_path.mjs;
this suite runs them once and reports each flow as its own test. It saves
the screenshots shown in README to docs/screenshots/ (or to
PMROBOKASSA_SCREENSHOT_DIR).

Needs chromium, node and tests/browser/node_modules (npm ci). Without them
the suite is skipped, with what to install, except in CI (CI=true), where
it fails: there they must have been installed.
"""

import os
import sys
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))
import run_browser_test as browser  # noqa: E402

BIN_DIR = os.environ.get("PMROBOKASSA_BIN") or str(REPO / "build" / "bin")
SCREENSHOT_DIR = Path(os.environ.get("PMROBOKASSA_SCREENSHOT_DIR")
                      or REPO / "docs" / "screenshots")
FLOWS = browser.flows()
MAX_SCREENSHOT_BYTES = 200 * 1024


def _say(text):
    print(text, file=sys.stderr, flush=True)


class CustomerPathInBrowser(unittest.TestCase):
    outcome = None

    @classmethod
    def setUpClass(cls):
        missing = browser.missing_prerequisites()
        if missing:
            message = "the browser test needs: " + "; ".join(missing)
            if os.environ.get("CI") == "true":
                raise AssertionError(message + " (CI=true: install them, do not skip)")
            raise unittest.SkipTest(message)
        cls.started = time.time()
        cls.outcome = browser.run(os.path.abspath(BIN_DIR), SCREENSHOT_DIR, echo=_say)
        _say(f"browser test: {len(cls.outcome['flows'])} flows in "
             f"{cls.outcome['seconds']:.1f} s")

    def check_flow(self, name):
        flow = self.outcome["flows"].get(name)
        self.assertIsNotNone(flow, f"no result for {name}:\n{self.outcome['output']}")
        self.assertEqual(flow["errors"], [], "\n".join(flow["errors"]))

    def test_every_flow_reported(self):
        self.assertEqual(sorted(self.outcome["flows"]), sorted(f["name"] for f in FLOWS))
        self.assertEqual(self.outcome["node_exit"], 0, self.outcome["output"])

    def test_both_languages_and_both_outcomes_are_covered(self):
        covered = {(f["language"], f["outcome"]) for f in FLOWS}
        self.assertEqual(covered, {("ru", "pay"), ("ru", "cancel"), ("en", "pay"),
                                   ("en", "cancel")})
        self.assertTrue(any(not f["javaScript"] for f in FLOWS))
        self.assertTrue(any(f["cookie"] for f in FLOWS))

    def test_screenshots_saved(self):
        expected = {shot for f in FLOWS for shot in f["screenshots"].values()}
        self.assertEqual(len(expected), 8)
        for name in sorted(expected):
            path = SCREENSHOT_DIR / name
            with self.subTest(screenshot=name):
                self.assertTrue(path.is_file(), f"{path} was not saved")
                self.assertGreaterEqual(path.stat().st_mtime, self.started - 1,
                                        f"{path} is left from an earlier run")
                self.assertLessEqual(path.stat().st_size, MAX_SCREENSHOT_BYTES)
                with open(path, "rb") as png:
                    self.assertEqual(png.read(8), b"\x89PNG\r\n\x1a\n")


def _flow_test(name):
    def test(self):
        self.check_flow(name)
    test.__doc__ = f"browser flow {name}"
    return test


for _flow in FLOWS:
    setattr(CustomerPathInBrowser, f"test_{_flow['name']}", _flow_test(_flow["name"]))


if __name__ == "__main__":
    unittest.main()
