#!/usr/bin/env python3
"""A recorded-protocol stand-in for BILLmanager's `mgrctl` (panel mode).

No BILLmanager runs here, so panel mode is tested against a transcript: the
test lists the calls it expects, in order, each with its exact arguments and
the answer BILLmanager gives (tests/data/mgrctl/*.xml, the documented shape
of payment.info and of the panel's <doc> answers). Installed as an
executable `mgrctl` in its own directory, the stand-in answers each call
with the next recorded answer when the arguments match exactly, and
otherwise records a violation and answers with an error, so a call the
protocol does not allow (a second payment.setpaid, a missing argument, a
different order) fails the test.

BILLmanager answers payment.info differently by caller: the module's own
call (no auth) sees the payment method's private fields (the passwords,
marked private="yes" in xml/billmgr_mod_pmrobokassa.xml), a customer's
session (auth=SESSION) does not. The stand-in answers a payment.info that
carries auth= with those fields removed from the recorded answer, so code
that read the payment as the customer could never find Password #1.

Files in the stand-in's directory (it finds them next to itself):
  protocol.json  {"calls": [{"argv": [...], "stdout": "...", "exit": 0,
                 "sleep": 0, "linger": 0}, ...]}
                 "standing": [{"argv": [...], "stdout": "...", "sleep": 0,
                 "once": false, "after": INDEX, "stdout_after": "..."}]}
                 Standing answers serve calls in any order, any number of
                 times (`once`: at most one), for tests of concurrent
                 requests; an entry with `after` answers `stdout_after` once
                 standing entry INDEX has been called (payment.info showing
                 status 4 after payment.setpaid).
  cursor         index of the next expected call
  standing_counts  calls each standing entry has answered
  calls.jsonl    every call received, as argv lists
  violations     one line per unexpected call
  private.json   the method's private field names (for client_view)
"""

import fcntl
import json
import os
import re
import shutil
import stat
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data", "mgrctl")
FORM = os.path.join(os.path.dirname(os.path.dirname(HERE)), "xml", "billmgr_mod_pmrobokassa.xml")


def answer(name, **values):
    """A recorded answer from tests/data/mgrctl with its {placeholders} filled."""
    with open(os.path.join(DATA, name + ".xml"), encoding="utf-8") as f:
        return f.read().format(**values)


def private_fields():
    """The method form's fields a client never sees, from the form itself."""
    import xml.etree.ElementTree as ET
    return sorted({node.get("name") for node in ET.parse(FORM).iter("input")
                   if node.get("private") == "yes"})


def client_view(answer_text, hidden):
    """payment.info as a customer's session gets it: the method's private
    fields (`hidden`) are not in it."""
    for name in hidden:
        answer_text = re.sub(rf"\s*<{name}>[^<]*</{name}>", "", answer_text)
    return answer_text


class StandIn:
    """The test's side: installs the stand-in and scripts its protocol."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "mgrctl")
        shutil.copyfile(os.path.abspath(__file__), self.path)
        os.chmod(self.path, stat.S_IRWXU)
        # The installed copy cannot find the repository: it gets the list.
        with open(os.path.join(directory, "private.json"), "w") as f:
            json.dump(private_fields(), f)
        self.expect_nothing()

    def expect_nothing(self):
        self._calls = []
        self._standing = []
        self._write()
        with open(os.path.join(self.dir, "standing_counts"), "w") as f:
            f.write("{}")
        with open(os.path.join(self.dir, "cursor"), "w") as f:
            f.write("0")
        for name in ("calls.jsonl", "violations"):
            open(os.path.join(self.dir, name), "w").close()

    def expect(self, function, params, stdout, exit_code=0, sleep=0, linger=0):
        """One more expected call: `function` with `params` (a list of
        (key, value) pairs, in order) answered with `stdout`. A value may be
        a compiled regular expression the argument must match whole. `sleep`
        delays the answer; `linger` keeps the process running that long
        after it has answered and closed its stdout."""
        self._calls.append({"argv": argv_of(function, params), "stdout": stdout, "exit": exit_code, "sleep": sleep,
                            "linger": linger})
        self._write()

    def standing(self, function, params, stdout, sleep=0, once=False, after=None,
                 stdout_after=None):
        """A call answered in any order, any number of times (`once`: at
        most one, a second is a violation); returns its index for another
        entry's `after`: from the moment entry `after` has been called,
        this one answers `stdout_after`."""
        self._standing.append({"argv": argv_of(function, params), "stdout": stdout, "sleep": sleep, "once": once, "after": after,
                               "stdout_after": stdout_after})
        self._write()
        return len(self._standing) - 1

    def standing_count(self, index):
        path = os.path.join(self.dir, "standing_counts")
        with open(path) as f:
            return json.load(f).get(str(index), 0)

    def _write(self):
        # Replaced whole, so a call in flight reads the old list or the new.
        temporary = os.path.join(self.dir, "protocol.json.new")
        with open(temporary, "w") as f:
            json.dump({"calls": self._calls, "standing": self._standing}, f)
        os.replace(temporary, os.path.join(self.dir, "protocol.json"))

    def received(self):
        with open(os.path.join(self.dir, "calls.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def violations(self):
        with open(os.path.join(self.dir, "violations")) as f:
            return [line for line in f.read().splitlines() if line]

    def pending(self):
        with open(os.path.join(self.dir, "cursor")) as f:
            return len(self._calls) - int(f.read() or 0)


def argv_of(function, params):
    """mgrctl's argv for a call; a value may be a compiled regular
    expression the argument must match whole."""
    argv = ["-m", "billmgr", "-o", "xml", function]
    for key, value in params:
        if isinstance(value, re.Pattern):
            argv.append({"re": re.escape(key + "=") + value.pattern})
        else:
            argv.append(f"{key}={value}")
    return argv


def matches(expected, argv):
    if len(expected) != len(argv):
        return False
    for want, got in zip(expected, argv):
        if isinstance(want, dict):
            if not re.fullmatch(want["re"], got, re.DOTALL):
                return False
        elif want != got:
            return False
    return True


def stand(entries, argv):
    """The standing entry answering `argv` (counted), or None. Runs under
    the stand-in's lock."""
    counts_path = os.path.join(HERE, "standing_counts")
    with open(counts_path) as f:
        counts = json.load(f)
    for index, entry in enumerate(entries):
        if not matches(entry["argv"], argv):
            continue
        if entry["once"] and counts.get(str(index), 0) > 0:
            return None
        counts[str(index)] = counts.get(str(index), 0) + 1
        with open(counts_path, "w") as f:
            json.dump(counts, f)
        after = entry["after"]
        if after is not None and counts.get(str(after), 0) > 0:
            return dict(entry, stdout=entry["stdout_after"])
        return entry
    return None


def main(argv):
    with open(os.path.join(HERE, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(HERE, "calls.jsonl"), "a") as log:
            log.write(json.dumps(argv) + "\n")
        with open(os.path.join(HERE, "protocol.json")) as f:
            protocol = json.load(f)
        calls = protocol["calls"]
        cursor_path = os.path.join(HERE, "cursor")
        with open(cursor_path) as f:
            cursor = int(f.read() or 0)
        expected = calls[cursor] if cursor < len(calls) else None
        if (expected is None or not matches(expected["argv"], argv)) and \
                protocol.get("standing"):
            standing = stand(protocol["standing"], argv)
            if standing is not None:
                expected, cursor = standing, cursor - 1  # the cursor stays
        if expected is None or not matches(expected["argv"], argv):
            with open(os.path.join(HERE, "violations"), "a") as f:
                f.write(json.dumps({"got": argv, "expected": expected and expected["argv"]}) + "\n")
            sys.stdout.write('<?xml version="1.0" encoding="UTF-8"?>\n<doc><error type="standin">'
                             '<msg>a call the recorded protocol does not allow</msg></error></doc>\n')
            return 3
        with open(cursor_path, "w") as f:
            f.write(str(cursor + 1))
    if expected.get("sleep"):
        time.sleep(expected["sleep"])
    stdout = expected["stdout"]
    if argv[4:5] == ["payment.info"] and any(a.startswith("auth=") for a in argv[5:]):
        with open(os.path.join(HERE, "private.json")) as f:
            stdout = client_view(stdout, json.load(f))
    sys.stdout.write(stdout)
    sys.stdout.flush()
    if expected.get("linger"):
        os.close(1)
        time.sleep(expected["linger"])
    return expected.get("exit", 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
