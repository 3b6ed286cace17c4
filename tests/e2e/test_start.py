"""What each CGI does before its first byte (process start), run
directly as CGI/1.1: the static executables still honour the administrator's
openssl.cnf, and a request that cannot be served never opens the store."""

import hashlib
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import rkwire  # noqa: E402
from rkcase import BIN_DIR, MANAGER_URL, rkharness  # noqa: E402

PASSWORD1 = "Start1password"
PASSWORD2 = "Start2password"
OUT_SUM = "990.00"

# Only the legacy provider, which has no MD5: a policy that forbids the
# method's algorithm.
LEGACY_ONLY = """config_diagnostics = 1
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
legacy = legacy_sect
[legacy_sect]
activate = 1
"""


class StartCase(unittest.TestCase):
    """A fresh MGR5_ROOT with one md5 method and one new payment."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="rk-start-")
        self.root = os.path.join(self.workdir, "mgr5")
        os.makedirs(os.path.join(self.root, "etc"))
        with open(os.path.join(self.root, "etc", "pmrobokassa.conf"), "w") as f:
            f.write(f"manager_url = {MANAGER_URL}\ncheck_credentials = off\n")
        self.module("method.add", "--name", "Robokassa", "--shop-id", "start",
                    "--password1", PASSWORD1, "--password2", PASSWORD2)
        out = self.module("payment.add", "--method", "1", "--amount", OUT_SUM).splitlines()
        self.payment_id, self.link = int(out[0]), out[1]

    def tearDown(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def module(self, *args):
        result = rkharness.run_module(BIN_DIR, self.root, *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def cgi(self, program, query="", **env):
        return rkwire.run_cgi(BIN_DIR, program, self.root,
                              {"REQUEST_METHOD": "GET", "QUERY_STRING": query, **env})[0]

    def journal_rows(self):
        return rkwire.query(self.root, "SELECT count(*) FROM notifications")[0][0]

    def log(self, program):
        path = os.path.join(self.root, "var", program + ".log")
        with open(path, encoding="utf-8") as f:
            return f.read()

    def remove_store(self):
        """The CGIs open the store, never create it: without the file, any
        request that opens it gets 503."""
        for suffix in ("", "-wal", "-shm"):
            path = rkwire.store_path(self.root) + suffix
            if os.path.exists(path):
                os.remove(path)


class OpensslConfig(StartCase):
    """The CGIs link OpenSSL (and glibc) statically; the administrator's
    openssl.cnf still decides which algorithms they may use."""

    def success_query(self):
        signature = hashlib.md5(f"{OUT_SUM}:{self.payment_id}:{PASSWORD1}".encode()).hexdigest()
        return f"OutSum={OUT_SUM}&InvId={self.payment_id}&SignatureValue={signature}"

    def with_config(self, text):
        path = os.path.join(self.workdir, "openssl.cnf")
        with open(path, "w") as f:
            f.write(text)
        return self.cgi("rksuccess", self.success_query(), OPENSSL_CONF=path)

    def test_a_policy_without_the_algorithm_refuses_to_sign(self):
        self.assertEqual(self.cgi("rksuccess", self.success_query()).status, 302)
        self.assertEqual(self.with_config(LEGACY_ONLY).status, 500)



class RequestWithoutParameters(StartCase):
    """rkresult journals every notification (docs/interface.md §4); a request with no
    parameter at all is none, and is refused without opening the store."""

    def test_refused_and_logged_but_not_journaled(self):
        reply = self.cgi("rkresult")
        self.assertEqual(reply.status, 400)
        self.assertFalse(reply.body.startswith(b"OK"))
        self.assertEqual(self.journal_rows(), 0)
        self.assertRegex(self.log("rkresult"), r"\] rkresult WARNING request refused \(400\)")

    def test_a_single_parameter_is_a_notification_and_journaled(self):
        reply = self.cgi("rkresult", "Culture=ru")
        self.assertEqual(reply.status, 400)
        self.assertEqual(self.journal_rows(), 1)

    def test_the_store_is_not_opened(self):
        self.remove_store()
        self.assertEqual(self.cgi("rkresult").status, 400)
        self.assertEqual(self.cgi("rkresult", REQUEST_METHOD="POST", CONTENT_LENGTH="0",
                                  CONTENT_TYPE="application/x-www-form-urlencoded").status, 400)
        self.assertEqual(self.cgi("rkresult", REQUEST_METHOD="PUT").status, 405)
        # A notification must open it, and cannot without the file.
        self.assertEqual(self.cgi("rkresult", f"InvId={self.payment_id}").status, 503)
        self.assertFalse(os.path.exists(rkwire.store_path(self.root)))


class MalformedPaymentLink(StartCase):
    """rkpayment checks the link's form before it opens the store."""

    def test_the_store_is_not_opened(self):
        query = self.link.split("?", 1)[1]
        key = query.split("key=", 1)[1]
        self.assertEqual(len(key), 32)
        self.assertEqual(self.cgi("rkpayment", query).status, 200)
        self.remove_store()
        for query, status in (("", 400), ("elid=01&key=" + key, 400), (f"elid={self.payment_id}", 403),
                              (f"elid={self.payment_id}&key=" + key[:31], 403),
                              (f"elid={self.payment_id}&key=" + key + "0", 403),
                              (f"elid={self.payment_id}&key=" + "g" * 32, 403)):
            with self.subTest(query=query):
                self.assertEqual(self.cgi("rkpayment", query).status, status)
        # A well-formed link needs the store.
        self.assertEqual(self.cgi("rkpayment", f"elid={self.payment_id}&key=" + key.upper()).status,
                         503)
        self.assertFalse(os.path.exists(rkwire.store_path(self.root)))


if __name__ == "__main__":
    unittest.main()
