"""Hostile input: what each CGI answers, through real lighttpd, to
oversized, malformed, duplicated, ambiguous and out-of-range requests.

Every request here is one Robokassa or a customer would never send. For each,
whichever of lighttpd or the CGI answers: a 4xx (never 5xx), a body that does
not begin with OK, and no payment or status-history row changed. Rows that
depend on the transport (a Content-Length that lies, no Content-Length) go
over a raw socket, and once more straight to the CGI as CGI/1.1, because
lighttpd refuses most of them before any CGI runs.

The table of replies is printed at the end (for README): a cell "413" is the
CGI's answer, "413 (lighttpd)" the web server's, "closed" no reply at all.
"""

import hashlib
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import rkwire  # noqa: E402
from rkcase import BIN_DIR, RkCase, rkharness  # noqa: E402

CGIS = ("rkresult", "rkpayment", "rksuccess", "rkfail")
FORM = "application/x-www-form-urlencoded"


def enc(pairs):
    """Form-encodes (name, value) pairs. Text is UTF-8; a lone surrogate
    "\udcff" stands for the byte FF, so invalid UTF-8 can be sent too."""
    def quote(text):
        return urllib.parse.quote(text, safe="", errors="surrogateescape")
    return "&".join(quote(k) + "=" + quote(v) for k, v in pairs)


def md5_hex(text):
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest()


class Request:
    """One request: over HTTP (raw bytes to lighttpd) or straight to the CGI."""

    def __init__(self, raw=None, cgi_env=None, stdin=b""):
        self.raw = raw
        self.cgi_env = cgi_env
        self.stdin = stdin


class HostileInput(RkCase):
    table = {}  # label -> {cgi: cell}
    order = []

    @classmethod
    def tearDownClass(cls):
        rows = [[label] + [cls.table[label].get(cgi, "—") for cgi in CGIS]
                for label in cls.order]
        print("\n\nHostile input: the reply of each CGI (through lighttpd unless noted)\n")
        print(rkwire.markdown_table(["input"] + list(CGIS), rows), flush=True)
        super().tearDownClass()

    def setUp(self):
        if "method" not in type(self).__dict__:
            cls = type(self)
            cls.method = self.add_method("md5", test_mode=True, shop="hostile")
            cls.payment_id, link = self.add_payment(cls.method, "990.00")
            cls.key = link.split("key=")[1]
            cls.other_id, _ = self.add_payment(cls.method, "10.00")

    # Building requests --------------------------------------------------

    def pairs(self, cgi, inv=None, out_sum="990.000000", shp=(), signature=None):
        """The valid parameters of `cgi` for the test payment, signed over
        whatever InvId and OutSum are given, so a refusal below is never
        just a bad signature unless the row says so."""
        inv = str(self.payment_id) if inv is None else inv
        if cgi == "rkpayment":
            return [("elid", inv), ("key", self.key)]
        if cgi == "rkfail":
            return [("OutSum", out_sum), ("InvId", inv), ("Culture", "en")]
        password = self.method["password2" if cgi == "rkresult" else "password1"]
        base = f"{out_sum}:{inv}:{password}" + "".join(f":{k}={v}" for k, v in sorted(shp))
        pairs = [("OutSum", out_sum), ("InvId", inv),
                 ("SignatureValue", signature if signature is not None else md5_hex(base)),
                 *shp]
        return pairs + ([("IsTest", "1")] if cgi == "rkresult" else [("Culture", "en")])

    def http(self, cgi, method=None, query="", body=None, headers=None):
        """A request to /mancgi/<cgi>: rkpayment's parameters go in the query
        of a GET by default, the others' in the body of a POST."""
        method = method or ("GET" if body is None else "POST")
        if isinstance(body, str):
            body = body.encode("utf-8")
        body = body or b""
        headers = dict(headers or {})
        if method not in ("GET", "HEAD") or body:
            headers.setdefault("Content-Type", FORM)
        query_bytes = query.encode("latin-1") if isinstance(query, str) else query
        target = b"/mancgi/" + cgi.encode() + (b"?" + query_bytes if query_bytes else b"")
        return Request(raw=rkwire.http_request(method, target.decode("latin-1"), body, headers))

    def send(self, cgi, params, method=None, headers=None, extra_query=None):
        """The usual transport for `cgi` with these parameters (a string,
        already encoded, or pairs)."""
        encoded = params if isinstance(params, (str, bytes)) else enc(params)
        if cgi == "rkpayment" and method in (None, "GET"):
            return self.http(cgi, "GET", query=encoded, headers=headers)
        return self.http(cgi, method or "POST", query=extra_query or "", body=encoded,
                         headers=headers)

    def direct(self, env, stdin=b""):
        return Request(cgi_env=env, stdin=stdin)

    # The table ----------------------------------------------------------

    def cases(self):
        """(label, build(cgi) -> Request or None when it does not apply,
        the expected status: an int, a dict by CGI, or None for any 4xx)."""
        pid = str(self.payment_id)
        big = 65 * 1024
        cases = [
            ("body over 64 KiB (65 KiB)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&pad=" + "x" * big, method="POST"),
             413),
            ("body over lighttpd's 1 MiB limit (2 MiB)",
             lambda c: self.send(c, "pad=" + "x" * (2 << 20), method="POST"), 413),
            ("InvId of 60,000 digits",
             lambda c: self.send(c, self.pairs(c, inv="9" * 60000), method="POST"),
             400),
            ("Shp_ name of 60,000 bytes (unsigned)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&Shp_" + "n" * 60000 + "=1")
             if c in ("rkresult", "rksuccess") else None, {"rkresult": 403, "rksuccess": 400}),
            ("10,000 parameters in the body",
             lambda c: self.send(c, enc(self.pairs(c)) + "".join(f"&p{i}" for i in range(10000)),
                                 method="POST"), 413),
            ("129 parameters in the body",
             lambda c: self.send(c, enc(self.pairs(c)) + "".join(f"&p{i}" for i in range(129)),
                                 method="POST"), 413),
            ("10,000 parameters in the query",
             lambda c: self.http(c, "GET", query="&".join(f"p{i}" for i in range(10000))), 431),
            ("duplicate key, same value (InvId twice)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&" + enc([self.id_pair(c)])), 400),
            ("duplicate key, another value",
             lambda c: self.send(c, enc(self.pairs(c)) + "&" +
                                 enc([(self.id_pair(c)[0], str(self.other_id))])), 400),
            ("duplicate key differing only in %-encoding (InvId / Inv%49d)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&" +
                                 self.id_pair(c)[0].replace("I", "%49").replace("e", "%65") +
                                 "=" + pid), 400),
            ("GET vs POST mix: same key in query and body",
             lambda c: self.http(c, "POST", query=enc([self.id_pair(c)]),
                                 body=enc(self.pairs(c))), 400),
            ("invalid UTF-8 in InvId (%FF%FE)",
             lambda c: self.send(c, self.pairs(c, inv=pid + "\udcff\udcfe")), 400),
            ("invalid UTF-8 raw in the body's InvId (bytes FF FE)",
             lambda c: self.http(c, "POST", body=enc(self.pairs(c)).replace(
                 f"={pid}&", f"={pid}\udcff\udcfe&").encode("utf-8", "surrogateescape")),
             400),
            ("invalid UTF-8 raw in Shp_ names and values (unsigned)",
             lambda c: self.http(c, "POST", body=enc(self.pairs(c)).encode() +
                                 b"&Shp_x=\xff\xfe\xc0\xaf&Shp_\xed\xa0\x80=1")
             if c in ("rkresult", "rksuccess") else None, {"rkresult": 403, "rksuccess": 400}),
            ("invalid UTF-8 raw in the query (bytes FF FE)",
             lambda c: self.http(c, "GET", query=b"InvId=1\xff\xfe"), 400),
            ("NUL (%00) in InvId",
             lambda c: self.send(c, self.pairs(c, inv=pid + "\x00")), 400),
            ("NUL (%00) in another value",
             lambda c: self.send(c, enc(self.pairs(c)) + "&Culture2=a%00b"), 400),
            ("NUL (%00) in a name",
             lambda c: self.send(c, enc(self.pairs(c)) + "&Shp_a%00b=1"), 400),
            ("CR/LF in InvId (%0D%0ALocation: …)",
             lambda c: self.send(c, self.pairs(c, inv=pid + "\r\nLocation: https://evil.example")),
             400),
            ("CR/LF in a name (Shp_a%0D%0AX)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&Shp_a%0D%0ASet-Cookie:%20x=1"), 400),
            ("LF alone in InvId (%0A)",
             lambda c: self.send(c, self.pairs(c, inv=pid + "\n")), 400),
            # lighttpd re-encodes a stray % in the query (url-normalize-required),
            # so through it a malformed escape in elid only makes elid invalid;
            # the CGI's own check is the "direct CGI" row below.
            ("malformed %-encoding (%G1, trailing %)",
             lambda c: self.send(c, [("elid", "%G1%"), ("key", self.key)]) if c == "rkpayment"
             else self.send(c, enc(self.pairs(c)) + "&x=%G1%"), 400),
            ("a parameter with no name (=1)",
             lambda c: self.send(c, enc(self.pairs(c)) + "&=1"), 400),
        ]
        for bad_id in ("0", "-1", "9223372036854775808", "18446744073709551617", "1e3",
                       "0" + pid, " " + pid, pid + " ", "+" + pid, pid + ".0", "0x" + pid, "",
                       "٣"):
            cases.append((f"InvId = {bad_id!r}",
                          lambda c, v=bad_id: self.send(c, self.pairs(c, inv=v)), 400))
        cases += [
            ("InvId of no payment (signed)",
             lambda c: None if c == "rkfail" else self.send(c, self.pairs(c, inv="987654321")),
             {"rkpayment": 403, None: 404}),
            ("InvId = 2^63-1, no such payment (signed)",
             lambda c: None if c == "rkfail" else self.send(
                 c, self.pairs(c, inv="9223372036854775807")), {"rkpayment": 403, None: 404}),
        ]
        # Amounts: signed correctly over the text sent, so only the amount
        # rule refuses them. rksuccess only checks its signature and moves no
        # money, so these concern rkresult alone.
        for amount in ("9.9e2", "990e0", "990,00", "990,000000", "1 990.00", "990.00 ", " 990.00",
                       "+990.00", "-990.00", "990.001", "990.00.0", ".99e3", "0x3DE", "990.",
                       ".990", "", "Infinity", "NaN", "９９０.００", "99000e-2",
                       "99999999999999999999999.00", "989.99", "10.00"):
            cases.append((f"OutSum = {amount!r} (signed)",
                          lambda c, v=amount: self.send(c, self.pairs(c, out_sum=v))
                          if c == "rkresult" else None, 400))
        cases += [
            ("IsTest = 2 (signed)",
             lambda c: self.send(c, enc(self.pairs(c))[:-len("&IsTest=1")] + "&IsTest=2")
             if c == "rkresult" else None, 400),
        ]
        # Shp_ names with odd characters, added after signing.
        for name in ("Shp_<script>", "Shp_a b", "Shp_ж", "SHP_a:b", "Shp_a=b", "shp_&x",
                     "Shp_" + "n" * 1000, "Shp_\u202e", "sHp_A"):
            cases.append((f"unsigned Shp_ name {name[:24]!r}",
                          lambda c, n=name: self.send(c, self.pairs(c) + [(n, "v")])
                          if c in ("rkresult", "rksuccess") else None,
                          {"rkresult": 403, "rksuccess": 400}))
        # Signatures of the wrong shape.
        for label, value in (("empty", ""), ("zeros", "0" * 32), ("not hex", "z" * 32),
                             ("too long (10 KiB)", "a" * 10240),
                             ("sha256 instead of md5", "0" * 64),
                             ("missing", None)):
            def build(c, v=value):
                if c not in ("rkresult", "rksuccess"):
                    return None
                pairs = self.pairs(c, signature=v if v is not None else "x")
                if v is None:
                    pairs = [p for p in pairs if p[0] != "SignatureValue"]
                return self.send(c, pairs)
            cases.append((f"SignatureValue {label}", build,
                          {"rkresult": 400 if value is None else 403, "rksuccess": 400}))
        # rkpayment's key.
        for label in ("wrong", "empty", "of another payment", "with CR/LF", "of 4 KiB"):
            def build_key(c, label=label):
                if c != "rkpayment":
                    return None
                key = {"wrong": "0" * 32, "empty": "", "of another payment": self.other_key(),
                       "with CR/LF": self.key + "\r\nX: y", "of 4 KiB": self.key * 128}[label]
                return self.send(c, [("elid", pid), ("key", key)])
            cases.append((f"rkpayment key {label}", build_key,
                          {"rkpayment": None if label == "with CR/LF" else 403}))
        cases += [
            ("Content-Type text/plain",
             lambda c: self.send(c, enc(self.pairs(c)), method="POST",
                                 headers={"Content-Type": "text/plain"}), 400),
            ("Content-Type multipart/form-data",
             lambda c: self.send(c, enc(self.pairs(c)), method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=x"}),
             400),
        ]
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"):
            cases.append((f"method {method}",
                          lambda c, m=method: self.http(c, m, query=enc(self.pairs(c)),
                                                        body=b"" if m != "PUT" else b"x=1"),
                          405))
        # The transport: raw HTTP with a missing or lying Content-Length.
        cases += [
            ("POST without Content-Length (HTTP/1.1)",
             lambda c: Request(raw=rkwire.http_request(
                 "POST", f"/mancgi/{c}", enc(self.pairs(c)).encode(),
                 {"Content-Type": FORM, "Content-Length": None})), 411),
            ("Content-Length larger than the body, then EOF",
             lambda c: Request(raw=rkwire.http_request(
                 "POST", f"/mancgi/{c}", enc(self.pairs(c)).encode(),
                 {"Content-Type": FORM, "Content-Length": "4096"})), None),
            ("Content-Length smaller than the body (cuts the signature)",
             lambda c: Request(raw=rkwire.http_request(
                 "POST", f"/mancgi/{c}", enc(self.pairs(c)).encode(),
                 {"Content-Type": FORM,
                  "Content-Length": str(len(enc(self.pairs(c))) - 20)})), None),
            ("Content-Length: -1",
             lambda c: Request(raw=rkwire.http_request(
                 "POST", f"/mancgi/{c}", b"x=1", {"Content-Type": FORM, "Content-Length": "-1"})),
             400),
            ("Content-Length given twice (differing)",
             lambda c: Request(raw=rkwire.http_request(
                 "POST", f"/mancgi/{c}", b"x=1", {"Content-Type": FORM, "Content-Length": "3",
                                                  "content-length": "4"})), 400),
        ]
        # The same, straight to the CGI (CGI/1.1, no web server in between).
        body = lambda c: enc(self.pairs(c)).encode()  # noqa: E731
        cases += [
            ("direct CGI: POST without CONTENT_LENGTH",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM}, body(c)),
             {"rkpayment": 400, None: 400}),
            ("direct CGI: CONTENT_LENGTH larger than stdin",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM,
                                    "CONTENT_LENGTH": str(len(body(c)) + 100)}, body(c)), 400),
            ("direct CGI: CONTENT_LENGTH smaller than stdin",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM,
                                    "CONTENT_LENGTH": str(len(body(c)) - 20)}, body(c)), None),
            ("direct CGI: CONTENT_LENGTH not a number",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM,
                                    "CONTENT_LENGTH": "12abc"}, body(c)), 400),
            ("direct CGI: CONTENT_LENGTH of 20 digits",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM,
                                    "CONTENT_LENGTH": "9" * 20}, body(c)), 400),
            ("direct CGI: CONTENT_LENGTH 10 MB (not read)",
             lambda c: self.direct({"REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM,
                                    "CONTENT_LENGTH": "10000000"}, body(c)), 413),
            ("direct CGI: malformed %-encoding in QUERY_STRING",
             lambda c: self.direct({"REQUEST_METHOD": "GET",
                                    "QUERY_STRING": enc(self.pairs(c)) + "&x=%G1%"}), 400),
            ("direct CGI: NUL and CR/LF in QUERY_STRING",
             lambda c: self.direct({"REQUEST_METHOD": "GET",
                                    "QUERY_STRING": enc(self.pairs(c)) + "&Shp_a%0D%0A=%00"}),
             400),
            ("direct CGI: REQUEST_METHOD PUT",
             lambda c: self.direct({"REQUEST_METHOD": "PUT", "QUERY_STRING": enc(self.pairs(c))}),
             405),
            ("direct CGI: REQUEST_METHOD get (lower case)",
             lambda c: self.direct({"REQUEST_METHOD": "get", "QUERY_STRING": enc(self.pairs(c))}),
             405),
        ]
        return cases

    def id_pair(self, cgi):
        return ("elid" if cgi == "rkpayment" else "InvId", str(self.payment_id))

    def other_key(self):
        out = self.module("payment.add", "--method", self.method["id"], "--amount", "1.00")
        return out.stdout.splitlines()[1].split("key=")[1]

    # Running ------------------------------------------------------------

    def perform(self, cgi, request):
        if request.cgi_env is not None:
            reply, _ = rkwire.run_cgi(BIN_DIR, cgi, self.root, request.cgi_env, request.stdin)
            return reply, True
        return rkwire.raw_http(self.web.port, request.raw), False

    def test_every_hostile_input_is_refused_with_4xx_and_changes_nothing(self):
        cases = self.cases()
        for label, build, expected in cases:
            type(self).order.append(label)
            row = type(self).table.setdefault(label, {})
            for cgi in CGIS:
                request = build(cgi)
                if request is None:
                    continue
                with self.subTest(input=label, cgi=cgi):
                    before = rkwire.snapshot(self.root)
                    reply, direct = self.perform(cgi, request)
                    cell = "closed" if reply.status is None else str(reply.status)
                    if reply.status is not None and not reply.from_cgi:
                        cell += " (lighttpd)"
                    row[cgi] = cell
                    want = expected.get(cgi, expected.get(None)) if isinstance(expected, dict) \
                        else expected
                    if reply.status is not None:
                        self.assertGreaterEqual(reply.status, 400, reply.body[:200])
                        self.assertLess(reply.status, 500, reply.body[:200])
                    if want is not None:
                        self.assertEqual(reply.status, want, reply.body[:200])
                    self.assertFalse(reply.body.startswith(b"OK"), reply.body[:200])
                    self.assertEqual(rkwire.snapshot(self.root), before)
        # Nothing was credited and the payment is still new.
        self.assertEqual(self.status(self.payment_id), 1)
        self.assertEqual(self.payment(self.payment_id)["credits"], "0")

    def test_the_valid_request_of_each_cgi_still_works(self):
        # The control for the table: the same builders, unmutated, succeed.
        expected = {"rkresult": 200, "rkpayment": 200, "rksuccess": 302, "rkfail": 302}
        fresh, link = self.add_payment(self.method, "990.00")
        saved = (type(self).payment_id, type(self).key)
        type(self).payment_id, type(self).key = fresh, link.split("key=")[1]
        try:
            for cgi in ("rkpayment", "rksuccess", "rkfail", "rkresult"):
                reply, _ = self.perform(cgi, self.send(cgi, self.pairs(cgi)))
                self.assertEqual(reply.status, expected[cgi], reply.body[:300])
        finally:
            type(self).payment_id, type(self).key = saved
        self.assertEqual(self.status(fresh), 4)
        self.assertEqual(self.payment(fresh)["credits"], "1")

    def test_odd_shp_names_signed_by_robokassa_are_accepted_once(self):
        # Robokassa signs whatever Shp_ names the shop used: accepted as
        # signed, credited once, and the journal keeps them without harm.
        fresh, _ = self.add_payment(self.method, "990.00")
        shp = [("Shp_a b", "1"), ("Shp_ж", "2"), ("SHP_<x>", "3&4=5")]
        fields = self.pairs("rkresult", inv=str(fresh), shp=shp)
        for _ in range(2):
            reply, _ = self.perform("rkresult", self.send("rkresult", fields))
            self.assertEqual((reply.status, reply.body), (200, f"OK{fresh}".encode()))
        self.assertEqual(self.payment(fresh)["credits"], "1")


class HostileBeyondTheParser(RkCase):
    """What a review attacking the programs as an outsider found past the
    request parser: documents nested without end, endless files, a store
    file that is not a store, junk filling the journal, and replies that
    said one thing and did another."""

    def setUp(self):
        if "method" not in type(self).__dict__:
            type(self).method = self.add_method("md5", test_mode=True, shop="beyond")

    def notify(self, payment_id, fields=None, content_type=FORM):
        fields = fields or self.result_fields(self.method, payment_id, out_sum="990.00")
        return self.post("/mancgi/rkresult", fields, headers={"Content-Type": content_type})

    def store_bytes(self):
        path = rkwire.store_path(self.root)
        return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal")
                   if os.path.exists(path + suffix))

    def test_pmvalidate_refuses_deeply_nested_xml_without_crashing(self):
        deep = "<doc>" + "<a>" * 40000 + "</a>" * 40000 + "</doc>"
        result = self.module("pmvalidate", stdin=deep, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("nested deeper than 64", result.stderr)

    def test_a_receipt_without_end_is_refused_at_the_limit(self):
        result = self.module("payment.add", "--method", self.method["id"], "--amount", "10",
                             "--receipt", "/dev/zero", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--receipt", result.stderr)
        self.assertIn("1 MiB", result.stderr)

    def test_upper_case_content_type_is_a_form(self):
        payment_id, _ = self.add_payment(self.method, "990.00")
        reply = self.notify(payment_id,
                            content_type="Application/X-WWW-Form-Urlencoded; Charset=UTF-8")
        self.assertEqual((reply.status, reply.body), (200, f"OK{payment_id}".encode()))

    def test_allow_names_what_each_cgi_accepts(self):
        _, link = self.add_payment(self.method, "990.00")
        path, query = link.split("?")
        refused = rkharness.http("PUT", self.web.base_url + "/mancgi/rkresult?InvId=1")
        self.assertEqual((refused.status, refused.headers.get("Allow")), (405, "GET, POST"))
        # The payment link: whatever its 405 names is what it answers.
        put = rkharness.http("PUT", self.web.base_url + link)
        self.assertEqual(put.status, 405)
        allowed = {m.strip() for m in put.headers.get("Allow", "").split(",")}
        self.assertIn("GET", allowed)
        posted = self.post(path, query)
        self.assertEqual(posted.status == 405, "POST" not in allowed, posted.status)
        if posted.status == 405:
            self.assertEqual(posted.headers.get("Allow"), put.headers.get("Allow"))

    def test_cr_lf_and_invalid_utf8_in_a_signed_value_are_kept_not_refused(self):
        # Values are data: they are signed as sent, never reach a header and
        # are escaped on pages. A name with CR/LF is refused (another row).
        payment_id, _ = self.add_payment(self.method, "990.00")
        note = "line one\r\nSet-Cookie: x=1\udcff"
        base = f"990.00:{payment_id}:{self.method['password2']}:Shp_note={note}"
        body = enc([("OutSum", "990.00"), ("InvId", str(payment_id)),
                    ("SignatureValue", md5_hex(base)), ("Shp_note", note)])
        reply = self.notify(payment_id, fields=body.encode())
        self.assertEqual((reply.status, reply.body), (200, f"OK{payment_id}".encode()))
        self.assertNotIn("Set-Cookie", reply.headers)
        self.assertEqual(self.payment(payment_id)["credits"], "1")

    def test_unsigned_junk_is_journaled_as_a_bounded_prefix(self):
        payment_id, _ = self.add_payment(self.method, "990.00")
        rkwire.query(self.root, "PRAGMA wal_checkpoint(TRUNCATE)")
        before = self.store_bytes()
        junk = urllib.parse.urlencode({"OutSum": "990.00", "InvId": str(payment_id),
                                       "SignatureValue": "0" * 32, "Shp_junk": "x" * 64000})
        for _ in range(200):
            self.assertEqual(self.notify(payment_id, fields=junk).status, 403)
        rkwire.query(self.root, "PRAGMA wal_checkpoint(TRUNCATE)")
        grown = self.store_bytes() - before
        # Whole, 200 requests of 64 KB are 12.8 MB; a 1 KiB prefix each,
        # with the row and index overhead, stays under 1 MB.
        self.assertLess(grown, 1_000_000)
        params, reason = rkwire.query(
            self.root, "SELECT params, reason FROM notifications WHERE payment_id = ? "
            "ORDER BY id DESC LIMIT 1", payment_id)[0]
        self.assertLess(len(params), 1200)
        self.assertIn("cut before authentication", params)
        self.assertIn("SignatureValue", reason)
        # A signed notification is journaled whole.
        signed = self.result_fields(self.method, payment_id, out_sum="990.00",
                                    shp={"Shp_big": "y" * 5000})
        self.assertEqual(self.notify(payment_id, fields=signed).status, 200)
        kept = rkwire.query(self.root, "SELECT params FROM notifications WHERE payment_id = ? "
                            "ORDER BY id DESC LIMIT 1", payment_id)[0][0]
        self.assertIn("y" * 5000, kept)

    def test_an_empty_store_file_is_503_and_left_empty(self):
        self.add_payment(self.method, "990.00")
        path = rkwire.store_path(self.root)
        saved = os.path.join(self.workdir, "saved.db")
        rkwire.query(self.root, "PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(path, saved)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        try:
            for content in (b"", b"not a database, a text file" * 100):
                with self.subTest(content=content[:10]):
                    with open(path, "wb") as f:
                        f.write(content)
                    reply = self.notify(1)
                    self.assertEqual(reply.status, 503)
                    self.assertFalse(reply.body.startswith(b"OK"))
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(), content)
                    self.assertFalse(os.path.exists(path + "-wal"))
            with open(os.path.join(self.root, "var", "rkresult.log")) as f:
                self.assertIn("is not a pmrobokassa store", f.read())
        finally:
            os.replace(saved, path)


if __name__ == "__main__":
    unittest.main()
