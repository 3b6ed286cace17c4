"""nginx + fcgiwrap, Apache httpd (mod_cgid) and lighttpd serving the CGIs
through the web-server configurations pmrobokassa ships in etc/ (stdlib only).

Each class mirrors rkharness.Lighttpd: Server(bin_dir, mgr5_root, workdir,
port=None), base_url, render(), start(), stop(), and use as a context
manager. The shipped snippet is copied into workdir with its paths
(/usr/local/mgr5/cgi, /usr/local/mgr5, fcgiwrap's socket) pointed at the
test installation and included from a minimal main configuration, so what
is tested is what an administrator installs.

Every server listens on 127.0.0.1 only. Each runs as the invoking user,
except Apache started by root: httpd refuses to serve as root, so it is
given an unprivileged User/Group (cgi_user, www-data on Debian), and the
installation it serves must belong to that user (see hand_over())."""

import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

from rkharness import (CGI_NAMES, START_TIMEOUT, STOP_TIMEOUT, OwnedProcess, _read, _tail,
                       free_port)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHIPPED = REPO / "etc"
INSTALLED_CGI_DIR = "/usr/local/mgr5/cgi"
INSTALLED_ROOT = "/usr/local/mgr5"
APACHE_MODULES_DIR = Path("/usr/lib/apache2/modules")
APACHE_MODULES = ("mod_mpm_event", "mod_authz_core", "mod_alias", "mod_env", "mod_cgid")
# Debian's account for web servers; httpd is given it when started by root.
APACHE_ROOT_USER = "www-data"


def _which(name, *fallbacks):
    found = shutil.which(name)
    if found:
        return found
    for path in fallbacks:
        if os.access(path, os.X_OK):
            return path
    return None


def _plain_path(path):
    """path, refused when it could break out of a configuration value."""
    path = str(path)
    if re.search(r"[\s\"';{}$\\#]", path):
        raise ValueError(f"unusable in a web-server configuration: {path!r}")
    return path


def _render(template, values, target):
    text = Path(template).read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    leftover = re.search(r"@[A-Z_]+@", text)
    if leftover:
        raise RuntimeError(f"{template}: no value for {leftover.group()}")
    Path(target).write_text(text, encoding="utf-8")
    return Path(target)


def _connectable(address, family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(address)
            return True
        except OSError:
            return False


def _traversable_by_others(path):
    """Whether a user other than the owner may reach and run path."""
    path = Path(path).resolve()
    for directory in [*reversed(path.parents), path]:
        if not os.stat(directory).st_mode & stat.S_IXOTH:
            return False
    return True


def hand_over(path, user, within):
    """Gives path (recursively) to user, and lets user traverse every
    directory from `within` down to it; for installations served by a server
    that runs as someone else. Nothing outside `within` is changed."""
    path, within = Path(path).resolve(), Path(within).resolve()
    if path != within and within not in path.parents:
        raise ValueError(f"{path} is not inside {within}")
    for directory in [within, *[p for p in path.parents if within in p.parents]]:
        os.chmod(directory, os.stat(directory).st_mode | stat.S_IXOTH)
    for current, dirs, files in os.walk(path):
        for name in [current, *(os.path.join(current, d) for d in dirs),
                     *(os.path.join(current, f) for f in files)]:
            os.chown(name, user.pw_uid, user.pw_gid)


class _Server(OwnedProcess):
    """The shared machinery: subclasses name their executable, template and
    shipped snippet, and how to start."""

    name = ""
    template = None
    shipped = None
    package = ""  # the Debian package that provides the server

    def __init__(self, bin_dir, mgr5_root, workdir, port=None, cgi_names=CGI_NAMES):
        if tuple(cgi_names) != tuple(CGI_NAMES):
            raise ValueError("the shipped configurations serve exactly " + ", ".join(CGI_NAMES))
        self.bin_dir = Path(bin_dir).resolve()
        self.mgr5_root = Path(mgr5_root).resolve()
        self.workdir = Path(workdir).resolve()
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.cgi_names = tuple(cgi_names)
        self.snippet_path = self.workdir / "pmrobokassa.conf"
        self.config_path = self.workdir / f"{self.name}.conf"
        self.pid_file = self.workdir / f"{self.name}.pid"
        self.error_log = self.workdir / f"{self.name}-error.log"
        self.stderr_path = self.workdir / f"{self.name}.stderr"
        self.process = None

    # Whom the CGIs run as: None for the invoking user, else a pwd entry.
    cgi_user = None

    @classmethod
    def missing(cls):
        """None when the server can run here, else why not."""
        return None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def cgi_dir(self):
        return self.bin_dir

    def snippet_values(self):
        """Installed path -> test path, longest first."""
        return {INSTALLED_CGI_DIR: _plain_path(self.cgi_dir),
                INSTALLED_ROOT: _plain_path(self.mgr5_root)}

    def render_snippet(self):
        text = self.shipped.read_text(encoding="utf-8")
        for installed, actual in self.snippet_values().items():
            text = text.replace(installed, actual)
        self.snippet_path.write_text(text, encoding="utf-8")
        return self.snippet_path

    def values(self):
        document_root = self.workdir / "htdocs"
        document_root.mkdir(parents=True, exist_ok=True)
        return {"PORT": self.port, "RUN_DIR": _plain_path(self.workdir),
                "DOCUMENT_ROOT": _plain_path(document_root),
                "SNIPPET": _plain_path(self.snippet_path)}

    def render(self):
        """Writes the snippet and the main configuration; returns the latter."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.render_snippet()
        return _render(self.template, self.values(), self.config_path)

    def command(self):
        raise NotImplementedError

    def ready(self):
        """Bound and serving: the server wrote its pid file (each does so
        only after binding), and the port answers."""
        return (_read(self.pid_file).strip() == str(self.process.pid)
                and _connectable(("127.0.0.1", self.port)))

    def start(self):
        reason = self.missing()
        if reason:
            raise RuntimeError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A port from free_port() may be taken before the server binds it;
        # then try another, unless the caller chose the port.
        for _ in range(1 if self.fixed_port else 3):
            if self._start_once():
                return self
            if not self.fixed_port:
                self.port = free_port()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n"
                           f"{_tail(self.stderr_path)}{_tail(self.error_log)}")

    def _start_once(self):
        self.render()
        self.pid_file.unlink(missing_ok=True)
        with open(self.stderr_path, "ab") as stderr:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                            stdout=stderr, stderr=stderr,
                                            env=self.environment())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.ready():
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def environment(self):
        # Deliberately without MGR5_ROOT: the configuration must pass it.
        return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}


class Fcgiwrap(OwnedProcess):
    """fcgiwrap on a unix socket in workdir: it runs the CGIs for nginx.
    It gets a clean environment, so MGR5_ROOT reaches a CGI only as the
    FastCGI parameter nginx's configuration sets."""

    def __init__(self, workdir, children=4):
        self.workdir = Path(workdir).resolve()
        self.socket_path = self.workdir / "fcgiwrap.sock"
        self.stderr_path = self.workdir / "fcgiwrap.stderr"
        self.children = children
        self.process = None

    @staticmethod
    def executable():
        return _which("fcgiwrap", "/usr/sbin/fcgiwrap")

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        with open(self.stderr_path, "ab") as stderr:
            # Its own session: fcgiwrap's children are stopped with it, as a
            # group, and nothing else is in that group.
            self.process = subprocess.Popen(
                [self.executable(), "-c", str(self.children), "-s", f"unix:{self.socket_path}"],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")})
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.socket_path.exists() and _connectable(str(self.socket_path), socket.AF_UNIX):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"fcgiwrap did not start:\n{_tail(self.stderr_path)}")

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # Preforked children that outlived the parent belong to the group too.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process = None


class Nginx(_Server):
    """nginx with etc/nginx/pmrobokassa.conf, and fcgiwrap beside it."""

    name = "nginx"
    template = HERE / "nginx.conf.in"
    shipped = SHIPPED / "nginx" / "pmrobokassa.conf"
    package = "nginx"
    FASTCGI_PARAMS = Path("/etc/nginx/fastcgi_params")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fcgiwrap = Fcgiwrap(self.workdir)

    @staticmethod
    def executable():
        return _which("nginx", "/usr/sbin/nginx")

    @classmethod
    def missing(cls):
        if not cls.executable():
            return "nginx is not installed (Debian package nginx)"
        if not Fcgiwrap.executable():
            return "fcgiwrap is not installed (Debian package fcgiwrap)"
        if not cls.FASTCGI_PARAMS.exists():
            return f"{cls.FASTCGI_PARAMS} is missing (Debian package nginx-common)"
        return None

    def snippet_values(self):
        return {"/run/fcgiwrap.socket": _plain_path(self.fcgiwrap.socket_path),
                **super().snippet_values()}

    def values(self):
        user = ""
        if os.geteuid() == 0:
            entry = pwd.getpwuid(0)
            user = f"user {entry.pw_name} {entry.pw_name};"
        return {**super().values(), "USER_DIRECTIVE": user}

    def render(self):
        # The snippet includes Debian's fastcgi_params relative to nginx's
        # configuration directory, which here is workdir.
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.FASTCGI_PARAMS, self.workdir / "fastcgi_params")
        return super().render()

    def command(self):
        return [self.executable(), "-p", f"{self.workdir}/", "-c", str(self.config_path),
                "-e", str(self.error_log)]

    def start(self):
        reason = self.missing()
        if reason:
            raise RuntimeError(reason)
        self.fcgiwrap.start()
        try:
            return super().start()
        except BaseException:
            self.fcgiwrap.stop()
            raise

    def stop(self):
        super().stop()
        self.fcgiwrap.stop()


class Apache(_Server):
    """Apache httpd (mod_cgid) with etc/apache2/pmrobokassa.conf."""

    name = "apache2"
    template = HERE / "apache2.conf.in"
    shipped = SHIPPED / "apache2" / "pmrobokassa.conf"
    package = "apache2"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cgi_user = pwd.getpwnam(APACHE_ROOT_USER) if os.geteuid() == 0 else None

    @staticmethod
    def executable():
        return _which("apache2", "/usr/sbin/apache2")

    @classmethod
    def missing(cls):
        if not cls.executable():
            return "Apache httpd is not installed (Debian package apache2)"
        absent = [m for m in APACHE_MODULES if not (APACHE_MODULES_DIR / f"{m}.so").exists()]
        if absent:
            return f"Apache modules missing from {APACHE_MODULES_DIR}: {', '.join(absent)}"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(APACHE_ROOT_USER)
            except KeyError:
                return f"no user {APACHE_ROOT_USER} to run Apache as (it refuses root)"
        return None

    @property
    def cgi_dir(self):
        """bin_dir, or when Apache's user cannot reach it, a copy of the
        CGIs and the module in workdir (as an installation would have them);
        run the module as cgi_user from here too."""
        programs = [*self.cgi_names, "pmrobokassa"]
        if self.cgi_user is None or (_traversable_by_others(self.bin_dir) and all(
                os.stat(self.bin_dir / n).st_mode & stat.S_IXOTH for n in programs)):
            return self.bin_dir
        return self.workdir / "programs"

    def render_snippet(self):
        if self.cgi_dir != self.bin_dir:
            self.cgi_dir.mkdir(exist_ok=True)
            for name in [*self.cgi_names, "pmrobokassa"]:
                shutil.copy2(self.bin_dir / name, self.cgi_dir / name)
                os.chmod(self.cgi_dir / name, 0o755)
        if self.cgi_user is not None:
            # The cgid daemon and the workers, as cgi_user, reach the socket,
            # the snippet and the CGIs through workdir.
            os.chmod(self.workdir, os.stat(self.workdir).st_mode | stat.S_IXOTH)
        return super().render_snippet()

    def values(self):
        user_group = ""
        if self.cgi_user is not None:
            group = self.cgi_user.pw_gid
            user_group = f"User #{self.cgi_user.pw_uid}\nGroup #{group}"
        return {**super().values(), "USER_GROUP": user_group,
                "MODULES_DIR": _plain_path(APACHE_MODULES_DIR)}

    def command(self):
        return [self.executable(), "-d", str(self.workdir), "-f", str(self.config_path),
                "-DFOREGROUND"]


class Lighttpd(_Server):
    """lighttpd with etc/lighttpd/pmrobokassa.conf included from a minimal
    main configuration (rkharness.Lighttpd is the harness's own config)."""

    name = "lighttpd"
    shipped = SHIPPED / "lighttpd" / "pmrobokassa.conf"
    package = "lighttpd"
    MAIN = """# Rendered by tests/lib/webservers.py: lighttpd around the shipped snippet.
server.compat-module-load = "disable"
server.modules = ( "mod_accesslog" )
server.bind          = "127.0.0.1"
server.port          = @PORT@
server.document-root = "@DOCUMENT_ROOT@"
server.errorlog      = "@RUN_DIR@/lighttpd-error.log"
accesslog.filename   = "@RUN_DIR@/lighttpd-access.log"
server.pid-file      = "@RUN_DIR@/lighttpd.pid"
server.upload-dirs   = ( "@RUN_DIR@" )
include "@SNIPPET@"
"""

    @staticmethod
    def executable():
        return _which("lighttpd", "/usr/sbin/lighttpd")

    @classmethod
    def missing(cls):
        return None if cls.executable() else "lighttpd is not installed (Debian package lighttpd)"

    def render(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.render_snippet()
        template = self.workdir / "lighttpd.conf.in"
        template.write_text(self.MAIN, encoding="utf-8")
        return _render(template, self.values(), self.config_path)

    def command(self):
        return [self.executable(), "-D", "-f", str(self.config_path)]


SERVERS = (Lighttpd, Nginx, Apache)
