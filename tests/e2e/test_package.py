"""The Debian package: built from a copy of this tree with
packaging/build-deb.sh (nocheck, -j2), lintian-clean of errors, installed
with apt-get into the real /usr/local/mgr5, working from its installed
paths, and purged without leaving anything behind.

It changes this machine, so it runs only as root, only when neither
/usr/local/mgr5 nor a pmrobokassa package is there already (a real
installation is never touched), and it removes what it installed even when
it fails. Without dpkg-dev, debhelper, lintian or the build dependencies it
is skipped with their names; CI installs them."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_DEB = REPO / "packaging" / "build-deb.sh"
CONTROL = REPO / "packaging" / "debian" / "control"
PACKAGE = "pmrobokassa"
MGR5 = Path("/usr/local/mgr5")
MODULE = MGR5 / "paymethods" / "pmrobokassa"
CGIS = [MGR5 / "cgi" / name for name in ("rkpayment", "rkresult", "rksuccess", "rkfail", "rkrecurring")]
DESCRIPTION = MGR5 / "etc" / "xml" / "billmgr_mod_pmrobokassa.xml"
CONFIG = MGR5 / "etc" / "pmrobokassa.conf"
VAR = MGR5 / "var"
# Compared before and after: the package may leave nothing here. (Not all
# of /etc or /var: other programs may change those meanwhile.)
WATCHED = Path("/usr/local")
BUILD_TIMEOUT = 600
COMMAND_TIMEOUT = 120
TOOLS = {"dpkg-buildpackage": "dpkg-dev", "dh": "debhelper", "lintian": "lintian",
         "apt-get": "apt", "dpkg-checkbuilddeps": "dpkg-dev"}


def run(args, timeout=COMMAND_TIMEOUT, check=True, **kwargs):
    kwargs.setdefault("env", {**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, check=False, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def package_status():
    result = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def snapshot():
    """Every path under WATCHED, with its type and mode."""
    entries = set()
    for current, dirs, files in os.walk(WATCHED):
        for name in [current, *(os.path.join(current, n) for n in dirs + files)]:
            try:
                mode = os.lstat(name).st_mode
            except FileNotFoundError:
                continue
            entries.add((name, stat.S_IFMT(mode), stat.S_IMODE(mode)))
    return entries


def traces():
    """What dpkg and the package could leave outside WATCHED."""
    found = [str(p) for p in Path("/var/lib/dpkg/info").glob(f"{PACKAGE}.*")]
    found += [str(p) for p in Path("/etc").rglob(f"*{PACKAGE}*")]
    overrides = run(["dpkg-statoverride", "--list"], check=False).stdout
    found += [line for line in overrides.splitlines() if str(MGR5) in line]
    return found


def why_not_here():
    """None when the test may run on this machine, else the reason."""
    if "DEB_RULES_REQUIRES_ROOT" in os.environ:
        return "inside a Debian package build: would build and install itself"
    if os.geteuid() != 0:
        return "installs a package into /usr/local/mgr5: needs root"
    missing = sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)})
    if missing:
        return "missing Debian packages: " + " ".join(missing)
    deps = run(["dpkg-checkbuilddeps", "-Pnocheck", CONTROL], check=False)
    if deps.returncode != 0:
        return "missing build dependencies: " + deps.stderr.strip()
    if package_status():
        return f"{PACKAGE} is installed on this machine ({package_status()}); not replacing it"
    if MGR5.exists() or MGR5.is_symlink():
        return f"{MGR5} exists (a BILLmanager or another installation): not touching it"
    return None


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = why_not_here()
        if reason:
            raise unittest.SkipTest(reason)
        cls.times = {}
        cls.outdir = Path(tempfile.mkdtemp(prefix="rk-deb-"))
        started = time.monotonic()
        # The programs' code is the release's; what this run leaves out
        # only the archive would use: debug information (-g, which goes to
        # the -dbgsym package alone, and that package), and xz's smaller
        # file, which took 19 CPU-s of single-purpose compression for 39 MB
        # of static programs. Together 120 s -> 60 s on 2 cores.
        env = {**os.environ, "DEB_BUILD_OPTIONS": "nocheck parallel=2 noautodbgsym",
               "DEB_CFLAGS_STRIP": "-g", "DEB_CXXFLAGS_STRIP": "-g",
               "DPKG_DEB_COMPRESSOR_TYPE": "gzip", "DPKG_DEB_COMPRESSOR_LEVEL": "1",
               "TMPDIR": str(cls.outdir)}
        built = run(["bash", BUILD_DEB, cls.outdir], timeout=BUILD_TIMEOUT, check=False, env=env)
        cls.times["build"] = time.monotonic() - started
        debs = sorted(cls.outdir.glob(f"{PACKAGE}_*.deb"))
        if built.returncode != 0 or len(debs) != 1:
            shutil.rmtree(cls.outdir, ignore_errors=True)
            raise AssertionError(f"build-deb.sh exited {built.returncode}, made {debs}:\n"
                                 f"{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
        cls.deb = debs[0]
        cls.changes = next(cls.outdir.glob(f"{PACKAGE}_*.changes"), None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.outdir, ignore_errors=True)
        print("\n" + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in cls.times.items()),
              file=sys.stderr)

    def test_lintian_reports_no_errors(self):
        started = time.monotonic()
        result = run(["lintian", "--fail-on", "error", "--info", self.changes or self.deb],
                     check=False, timeout=COMMAND_TIMEOUT)
        self.times["lintian"] = time.monotonic() - started
        errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], result.stdout)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_it_names_the_libraries_built_into_it(self):
        # The CGIs link OpenSSL, SQLite, Boost, GCC's runtime and glibc
        # statically (static PIEs):
        # the field is how a security update of one of them finds this
        # package. Each entry must be the source version installed here.
        field = run(["dpkg-deb", "-f", str(self.deb), "Static-Built-Using"]).stdout.strip()
        entries = dict(re.findall(r"([a-z0-9.+-]+) \(= ([^)]+)\)", field))
        self.assertEqual(set(entries), {"openssl", "sqlite3", "boost1.74", "gcc-12", "glibc"},
                         field)
        for binary, source in (("libssl-dev", "openssl"), ("libsqlite3-dev", "sqlite3"),
                               ("libc6-dev", "glibc")):
            version = run(["dpkg-query", "-W", "-f=${source:Version}", binary]).stdout
            self.assertEqual(entries[source], version, binary)

    def test_install_work_and_purge_without_a_trace(self):
        before, traces_before = snapshot(), traces()
        self.assertFalse(MGR5.exists())
        try:
            packaged = self.install_and_use()
            started = time.monotonic()
            run(["apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=120", PACKAGE])
            self.times["purge"] = time.monotonic() - started
            self.assertEqual(package_status(), "")
            self.assertFalse(MGR5.exists(), sorted(str(p) for p in MGR5.rglob("*")))
            after = snapshot()
            self.assertEqual(sorted(after - before), [], "left behind by the purge")
            self.assertEqual(sorted(before - after), [], "removed by the package")
            self.assertEqual(traces(), traces_before)
            self.assertEqual([p for p in packaged if os.path.lexists(p)], [],
                             "packaged files still there")
        finally:
            # A failure above must not leave this machine with the package,
            # nor with a /usr/local/mgr5 it did not have (checked before).
            if package_status():
                run(["apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=120", PACKAGE],
                    check=False)
            if MGR5.exists():
                shutil.rmtree(MGR5, ignore_errors=True)

    def install_and_use(self):
        started = time.monotonic()
        run(["apt-get", "install", "-y", "--no-install-recommends",
             "-o", "DPkg::Lock::Timeout=120", f"./{self.deb.name}"], cwd=self.outdir)
        self.times["install"] = time.monotonic() - started
        self.assertEqual(package_status(), "ii")

        # The files are where BILLmanager looks, with the right modes.
        listed = set(run(["dpkg", "-L", PACKAGE]).stdout.split())
        new_files = sorted(p for p in listed if not os.path.isdir(p))
        for path in [MODULE, *CGIS, DESCRIPTION, CONFIG]:
            self.assertIn(str(path), listed)
        for program in [MODULE, *CGIS]:
            self.assertEqual(stat.S_IMODE(program.stat().st_mode), 0o755, program)
            self.assert_hardened(program)
        self.assertEqual(stat.S_IMODE(CONFIG.stat().st_mode), 0o644)
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
        self.assertIn(str(CONFIG), conffiles)
        self.assertEqual(ET.parse(DESCRIPTION).getroot().find("plugin").get("name"), PACKAGE)
        var = VAR.stat()
        self.assertTrue(stat.S_ISDIR(var.st_mode))
        self.assertEqual((var.st_uid, var.st_gid, stat.S_IMODE(var.st_mode)), (0, 0, 0o750))

        # Installed into BILLmanager, it is in panel mode: the shipped
        # configuration says so (a bare MGR5_ROOT without it stays standalone).
        self.assertRegex(CONFIG.read_text(encoding="utf-8"), r"(?m)^billing = panel$")

        # It works from the installed paths, on the default MGR5_ROOT.
        env = {k: v for k, v in os.environ.items() if k != "MGR5_ROOT"}
        config = run([MODULE, "--command", "config"], env=env)
        self.assertIn("<payment_script>/mancgi/rkpayment</payment_script>", config.stdout)
        # Panel mode: BILLmanager's refunds (rfset) and auto-payments (rcpay,
        # set up through recurring_script) are offered.
        for feature in ("refund", "rfset", "recurring", "rcpay"):
            self.assertIn(f"<{feature}>on</{feature}>", config.stdout)
        self.assertIn("<recurring_script>/mancgi/rkrecurring</recurring_script>", config.stdout)
        ET.fromstring(config.stdout)
        refused = run([MODULE, "--command", "pmvalidate"], env=env,
                      input="<doc><shop_id>demo</shop_id><password1>Passw0rd1</password1>"
                            "<password2>Passw0rd1</password2></doc>")
        self.assertIn('object="password2"', refused.stdout)
        # Panel mode reads payments from BILLmanager's mgrctl; with no
        # BILLmanager here the CGIs fail closed (5xx), never fall back to
        # the local store.
        cgi_env = {**env, "REQUEST_METHOD": "GET", "QUERY_STRING": "InvId=1"}
        fail = run([MGR5 / "cgi" / "rkfail"], env=cgi_env)
        self.assertTrue(fail.stdout.startswith("Status: 502"), fail.stdout[:200])
        # Data the purge must remove: the store and the logs.
        written = {p.name for p in VAR.iterdir()}
        self.assertIn("pmrobokassa.db", written)
        self.assertIn("rkfail.log", written)
        # The administrator's edit to the conffile is theirs until purge.
        with open(CONFIG, "a", encoding="utf-8") as f:
            f.write("log_level = 7\n")
        run([MODULE, "--command", "config"], env=env)
        return new_files

    def assert_hardened(self, program):
        """PIE, full RELRO (relro + now): dpkg-buildflags' hardening=+all."""
        if not shutil.which("readelf"):
            return
        header = run(["readelf", "-hlW", program]).stdout
        self.assertRegex(header, r"Type:\s+DYN", program)
        self.assertIn("GNU_RELRO", header, program)
        dynamic = run(["readelf", "-dW", program]).stdout
        self.assertTrue(re.search(r"\(FLAGS\)\s+BIND_NOW", dynamic)
                        or re.search(r"FLAGS_1\).*\bNOW\b", dynamic), program)


if __name__ == "__main__":
    unittest.main()
