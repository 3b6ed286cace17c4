#!/usr/bin/env python3
"""pmrobokassa's benchmarks, all measured in one run on this machine.

    bench/run.py --bin build-bench/bin        (scripts/bench.sh builds and runs it)

1. rkresult through lighttpd: valid notifications, each for a distinct unpaid
   payment, at concurrency 1, 4 and 16 (wrk + bench/walk.lua): requests/s,
   p50/p99 latency;
2. the same for the baseline C CGI (bench/baseline_cgi.c), dynamically linked,
   and, for reference, the same program linked statically;
3. the same for the PHP-CGI peer (bench/php/rkresult.php);
4. process start of each executable on a no-op request (GET, no parameters)
   against a static hello-world (hyperfine), with the page faults each takes;
   beside them the floors that split the difference: the hello-world as a
   static PIE (loading at a random address), bench/evp_floor.c (the least a
   static PIE with OpenSSL's EVP linked in can take), bench/contract_floor.cpp
   (only what the contract makes every CGI do before a request: read the
   config, write a log line), and rkresult linked without ASLR (never
   installed: it prices the relocation ASLR costs our CGIs);
5. rkresult p50/p99 with 1,000 and with 1,000,000 payments in the store;
6. rkpayment requests/s (first visits: each link a distinct new payment);
plus the Google Benchmark microbenchmarks (bench/micro_bench.cpp).

Every server runs the same lighttpd configuration (bench/lighttpd-bench.conf.in),
each implementation on its own copy of one store (our schema, made by
`pmrobokassa --command method.add` and bench/bulk_load.py), and the runs are
interleaved so that a change in the machine's load hits them all alike.
Prints a table and writes RESULTS/latest.json and RESULTS/latest.md.
Loopback only.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "lib"))
import rkharness  # noqa: E402
from bulk_load import load as bulk_load  # noqa: E402

PASSWORD1 = "Bench1password"
PASSWORD2 = "Bench2password"
AMOUNT = "990.000000"  # as Robokassa sends it; the payments are 990.00
AMOUNT_KOPECKS = 99000
# No credential check: the shop exists nowhere and the bench stays on loopback.
CONFIG = "manager_url = https://billing.example.com/billmgr\ncheck_credentials = off\n"
CONCURRENCY = (1, 4, 16)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Impl:
    def __init__(self, key, label, path, program):
        self.key, self.label, self.path, self.program = key, label, path, program


IMPLS = [
    Impl("ours", "rkresult (ours)", "/mancgi/rkresult", "rkresult"),
    Impl("baseline", "baseline C", "/mancgi/baseline_cgi", "baseline_cgi"),
    Impl("baseline_static", "baseline C, static", "/mancgi/baseline_cgi_static",
         "baseline_cgi_static"),
    Impl("php", "PHP-CGI peer", "/php/rkresult.php", None),
]
CGI_NAMES = ("rkresult", "rkpayment", "rksuccess", "rkfail", "baseline_cgi",
             "baseline_cgi_static", "hello_cgi")


def log(message):
    print(message, file=sys.stderr, flush=True)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(map(str, loadavg()))


# The store ----------------------------------------------------------------


def make_root(bin_dir, root, payments):
    """A fresh MGR5_ROOT: config file, our store with one method and
    `payments` unpaid payments of 990.00 (ids 1..payments)."""
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "pmrobokassa.conf").write_text(CONFIG)
    result = rkharness.run_module(bin_dir, root, "method.add", "--name", "Robokassa",
                                  "--shop-id", "bench", "--password1", PASSWORD1,
                                  "--password2", PASSWORD2)
    if result.returncode != 0:
        raise RuntimeError("method.add failed: " + result.stderr)
    method_id = int(result.stdout.splitlines()[0])
    seconds = bulk_load(str(root / "var" / "pmrobokassa.db"), method_id, payments,
                        amount=AMOUNT_KOPECKS)
    return seconds


def copy_root(template, root):
    shutil.copytree(template, root)


def count_status(root, status):
    db = sqlite3.connect(root / "var" / "pmrobokassa.db")
    try:
        return db.execute("SELECT count(*) FROM payments WHERE status = ?", (status,)).fetchone()[0]
    finally:
        db.close()


def link_secret(root):
    db = sqlite3.connect(root / "var" / "pmrobokassa.db")
    try:
        return db.execute("SELECT value FROM settings WHERE key = 'link_secret'").fetchone()[0]
    finally:
        db.close()


def result_body(payment_id):
    """A valid ResultURL notification as Robokassa posts it (upper-case hex)."""
    signature = hashlib.md5(f"{AMOUNT}:{payment_id}:{PASSWORD2}".encode()).hexdigest().upper()
    return (f"OutSum={AMOUNT}&InvId={payment_id}&SignatureValue={signature}&Fee=0.0"
            "&EMail=buyer%40example.com&PaymentMethod=BankCard&IncCurrLabel=BankCardPSR")


def payment_query(secret, payment_id):
    key = hmac.new(bytes(secret), f"rkpayment:{payment_id}".encode(),
                   hashlib.sha256).hexdigest()[:32]
    return f"elid={payment_id}&key={key}"


# Load --------------------------------------------------------------------


class Server(rkharness.Lighttpd):
    """rkharness.Lighttpd rendering bench/lighttpd-bench.conf.in."""

    def __init__(self, bin_dir, mgr5_root, workdir, php_cgi):
        super().__init__(bin_dir, mgr5_root, workdir, cgi_names=CGI_NAMES)
        self.php_cgi = php_cgi or "/usr/bin/php-cgi"

    def render(self):
        document_root = self.workdir / "htdocs"
        document_root.mkdir(parents=True, exist_ok=True)
        values = {"PORT": self.port, "DOCUMENT_ROOT": document_root, "RUN_DIR": self.workdir,
                  "BIN_DIR": self.bin_dir, "MGR5_ROOT": self.mgr5_root,
                  "CGI_NAMES": "|".join(self.cgi_names), "PHP_DIR": HERE / "php",
                  "PHP_CGI": self.php_cgi, "PASSWORD2": PASSWORD2}
        config = (HERE / "lighttpd-bench.conf.in").read_text(encoding="utf-8")
        for name, value in values.items():
            config = config.replace(f"@{name}@", str(value).replace("\\", "\\\\")
                                    .replace('"', '\\"'))
        self.config_path.write_text(config, encoding="utf-8")
        return self.config_path


def write_list(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(base_url, path, list_file, method, connections, duration):
    """One wrk run walking list_file; the parsed RKJSON line plus req/s."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout",
               "30s", "-s", str(HERE / "walk.lua"), base_url, "--", str(list_file), path,
               method, "1"]
    load_before = loadavg()
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120,
                         check=True).stdout
    line = next((l for l in out.splitlines() if l.startswith("RKJSON ")), None)
    if line is None:
        raise RuntimeError("wrk printed no RKJSON line:\n" + out)
    run = json.loads(line[len("RKJSON "):])
    run["rps"] = run["requests"] / (run["duration_us"] / 1e6)
    run["connections"] = connections
    run["load_before"] = load_before
    run["load_after"] = loadavg()
    errors = sum(run["errors"].values())
    if run["wrapped"] or errors:
        raise RuntimeError(f"{path} at c={connections}: {run['wrapped']} wraps, errors "
                           f"{run['errors']}: raise --slice or look at the server's logs")
    return run


def sequential(base_url, path, bodies):
    """POSTs each body in turn on one keep-alive connection; latencies in s."""
    parts = urllib.parse.urlsplit(base_url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=30)
    latencies = []
    try:
        for body in bodies:
            began = time.perf_counter()
            connection.request("POST", path, body=body, headers=FORM)
            response = connection.getresponse()
            data = response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 200 or not data.startswith(b"OK"):
                raise RuntimeError(f"{path}: {response.status} {data[:200]!r}")
    finally:
        connection.close()
    return latencies


def percentile(values, p):
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# The measurements ----------------------------------------------------------


def measure_throughput(args, bin_dir, work, template, slice_size, impls, php_cgi):
    """Sections 1-3 and 6. Returns {impl: {c: run}} and the rkpayment runs."""
    servers, roots, lists = {}, {}, {}
    slices = ["warmup"] + [(r, c) for r in range(args.rounds) for c in CONCURRENCY]
    for index, name in enumerate(slices):
        ids = range(index * slice_size + 1, (index + 1) * slice_size + 1)
        label = name if isinstance(name, str) else f"{name[0]}-{name[1]}"
        lists[name] = write_list(work / f"result-{label}.txt", [result_body(i) for i in ids])
    try:
        for impl in impls:
            roots[impl.key] = work / f"root-{impl.key}"
            copy_root(template, roots[impl.key])
            servers[impl.key] = Server(bin_dir, roots[impl.key], work / f"web-{impl.key}",
                                       php_cgi).start()
        results = {impl.key: {} for impl in impls}
        warmups = {}
        for impl in impls:
            log(f"  warm-up {impl.label}")
            warmups[impl.key] = wrk(servers[impl.key].base_url, impl.path, lists["warmup"],
                                    "POST", 4, max(1, args.duration // 3))
        rounds = {impl.key: {c: [] for c in CONCURRENCY} for impl in impls}
        for round_index in range(args.rounds):
            for connections in CONCURRENCY:
                for impl in impls:
                    run = wrk(servers[impl.key].base_url, impl.path,
                              lists[(round_index, connections)], "POST", connections,
                              args.duration)
                    rounds[impl.key][connections].append(run)
                    log(f"  {impl.label:22} c={connections:<2} {run['rps']:8.1f} req/s  "
                        f"p50 {run['latency_us']['p50'] / 1000:7.2f} ms  "
                        f"p99 {run['latency_us']['p99'] / 1000:7.2f} ms  "
                        f"load {run['load_before']}")
        # Each figure is the round with the median req/s (the lower middle
        # one for an even count); every round's req/s is kept beside it.
        # Ratios pair the implementations within a round, which ran back to
        # back, and take the median of those: the machine's load may change
        # between rounds, but hardly within one.
        for key, by_c in rounds.items():
            for connections, runs in by_c.items():
                ordered = sorted(runs, key=lambda run: run["rps"])
                chosen = dict(ordered[(len(ordered) - 1) // 2])
                chosen["rps_rounds"] = [round(run["rps"], 1) for run in runs]
                for other in ("baseline", "php"):
                    if other in rounds:
                        paired = sorted(ours["rps"] / theirs["rps"] for ours, theirs in
                                        zip(rounds["ours"][connections],
                                            rounds[other][connections]))
                        chosen[f"ours_over_{other}"] = statistics.median(paired)
                results[key][connections] = chosen
        # Every 2xx was a payment credited once: count them in each store.
        for impl in impls:
            paid = count_status(roots[impl.key], 4)
            runs = [warmups[impl.key]] + [run for by_c in rounds[impl.key].values()
                                          for run in by_c]
            answered = sum(run["requests"] for run in runs)
            in_flight = sum(run["connections"] for run in runs)
            if not answered <= paid <= answered + in_flight:
                raise RuntimeError(f"{impl.label}: {paid} payments paid for {answered} replies")
            results[impl.key]["paid"] = paid

        # 6. rkpayment: first visits of distinct payments' links (status 1 -> 2).
        payment_runs = {}
        secret = link_secret(roots["ours"])
        for index, connections in enumerate((1, 16)):
            first = (len(slices) + index) * slice_size + 1
            queries = [payment_query(secret, i) for i in range(first, first + slice_size)]
            check = rkharness.http("GET", servers["ours"].base_url + "/mancgi/rkpayment?" +
                                   queries[-1])
            if check.status != 200 or b"SignatureValue" not in check.body:
                raise RuntimeError(f"rkpayment: {check.status} {check.body[:300]!r}")
            listing = write_list(work / f"payment-{connections}.txt", queries[:-1])
            run = wrk(servers["ours"].base_url, "/mancgi/rkpayment", listing, "GET", connections,
                      args.duration)
            payment_runs[connections] = run
            log(f"  rkpayment              c={connections:<2} {run['rps']:8.1f} req/s  "
                f"p50 {run['latency_us']['p50'] / 1000:7.2f} ms  "
                f"p99 {run['latency_us']['p99'] / 1000:7.2f} ms")
        return results, payment_runs
    finally:
        for server in servers.values():
            server.stop()


def minor_faults(argv, env, runs=50):
    """Median page faults a program takes from exec to exit: its pages
    mapped, and copied when written (relocation writes to most of .data.rel.ro)."""
    counts = []
    for _ in range(runs):
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
        _, _, usage = os.wait4(pid, 0)
        counts.append(usage.ru_minflt)
    return statistics.median(counts)


def measure_start(args, bin_dir, work, template, php_cgi):
    """Section 4: hyperfine, each program on a GET with no parameters, in
    args.start_rounds rounds, each round running every program in turn; a
    program's ratio to hello_cgi is the median of its rounds' ratios, so a
    change in the machine's load between programs does not tilt it."""
    # The store on tmpfs when there is one: rkresult journals even this
    # request, and a disk's fsync is not process start.
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    scratch = Path(tempfile.mkdtemp(prefix="rk-start-", dir=base))
    try:
        root = scratch / "root"
        copy_root(template, root)
        programs = [("hello_cgi (static)", [str(bin_dir / "hello_cgi")]),
                    ("hello_cgi_pie (static PIE)", [str(bin_dir / "hello_cgi_pie")]),
                    ("evp_floor (static PIE, EVP linked)", [str(bin_dir / "evp_floor")]),
                    ("contract_floor (config + one log line, linked as a CGI)",
                     [str(bin_dir / "contract_floor")]),
                    ("baseline_cgi", [str(bin_dir / "baseline_cgi")]),
                    ("baseline_cgi_static", [str(bin_dir / "baseline_cgi_static")]),
                    ("rkresult_nopie (no ASLR, never installed)",
                     [str(bin_dir / "rkresult_nopie")])]
        programs += [(name, [str(bin_dir / name)])
                     for name in ("rkresult", "rkpayment", "rksuccess", "rkfail")]
        programs.append(("pmrobokassa --command config",
                         [str(bin_dir / "pmrobokassa"), "--command", "config"]))
        if php_cgi:
            programs.append(("php-cgi rkresult.php", [php_cgi]))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MGR5_ROOT": str(root),
               "REQUEST_METHOD": "GET", "QUERY_STRING": "", "GATEWAY_INTERFACE": "CGI/1.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "SCRIPT_FILENAME": str(HERE / "php" / "rkresult.php"), "REDIRECT_STATUS": "200",
               "RK_BENCH_PASSWORD2": PASSWORD2}
        rounds = {name: [] for name, _ in programs}
        for _ in range(args.start_rounds):
            export = scratch / "hyperfine.json"
            command = ["hyperfine", "-N", "--style", "none", "--warmup", "30", "--runs",
                       str(args.start_runs), "--export-json", str(export)]
            command += [shlex.join(argv) for _, argv in programs]
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
            for (name, _), result in zip(programs, json.loads(export.read_text())["results"]):
                rounds[name].append(result)
        hello = [r["median"] for r in rounds["hello_cgi (static)"]]
        results = {}
        for name, argv in programs:
            medians = [r["median"] * 1000 for r in rounds[name]]
            ratios = [r["median"] / h for r, h in zip(rounds[name], hello)]
            results[name] = {
                "median_ms": statistics.median(medians), "median_ms_rounds": medians,
                "user_ms": statistics.median(r["user"] * 1000 for r in rounds[name]),
                "system_ms": statistics.median(r["system"] * 1000 for r in rounds[name]),
                "vs_hello": statistics.median(ratios), "vs_hello_rounds": ratios,
                "minor_faults": minor_faults(argv, env)}
        return {"store": "tmpfs" if base != work else "disk", "rounds": args.start_rounds,
                "programs": results}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_scale(args, bin_dir, work, php_cgi):
    """Section 5: rkresult p50/p99, 1,000 vs args.large payments in the store,
    sequential requests for distinct random payments, rounds interleaved."""
    sizes = {"small": 1000, "large": args.large}
    servers, ids, latencies, load_seconds = {}, {}, {"small": [], "large": []}, {}
    rng = random.Random(7)
    try:
        for name, size in sizes.items():
            root = work / f"scale-{name}"
            log(f"  loading {size} payments")
            load_seconds[name] = make_root(bin_dir, root, size)
            servers[name] = Server(bin_dir, root, work / f"web-scale-{name}", php_cgi).start()
            ids[name] = rng.sample(range(1, size + 1), args.scale_requests)
        rounds = 6
        per_round = args.scale_requests // rounds
        for round_index in range(rounds):
            for name in sizes:
                chunk = ids[name][round_index * per_round:(round_index + 1) * per_round]
                latencies[name] += sequential(servers[name].base_url, "/mancgi/rkresult",
                                              [result_body(i) for i in chunk])
        result = {}
        for name, size in sizes.items():
            values = latencies[name]
            result[name] = {"payments": size, "requests": len(values),
                            "load_seconds": round(load_seconds[name], 2),
                            "p50_ms": percentile(values, 50) * 1000,
                            "p99_ms": percentile(values, 99) * 1000}
        result["p50_ratio"] = result["large"]["p50_ms"] / result["small"]["p50_ms"]
        result["p99_ratio"] = result["large"]["p99_ms"] / result["small"]["p99_ms"]
        return result
    finally:
        for server in servers.values():
            server.stop()


def measure_micro(args, bin_dir):
    """The Google Benchmark microbenchmarks, in JSON."""
    program = bin_dir / "rk_micro_bench"
    if not program.exists():
        return None
    out = subprocess.run([str(program), "--benchmark_format=json",
                          f"--benchmark_min_time={args.micro_min_time}"],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    rows = {}
    for bench in json.loads(out)["benchmarks"]:
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[bench["time_unit"]]
        rows[bench["name"]] = {"real_ns": bench["real_time"] * scale,
                               "cpu_ns": bench["cpu_time"] * scale,
                               "iterations": bench["iterations"]}
    return rows


# Report --------------------------------------------------------------------


def fmt(value, digits=2):
    return "–" if value is None else f"{value:,.{digits}f}"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def report(data):
    lines = [f"# pmrobokassa benchmarks — {data['when']}", "",
             f"Machine: {data['machine']['cpus']} CPUs, {data['machine']['kernel']}; "
             f"load before: `{data['machine']['uptime_before']}`, after: "
             f"`{data['machine']['uptime_after']}`.  ",
             f"Commit {data['commit']}; {data['versions']}.  ",
             f"Throughput: wrk (one thread), {data['settings']['duration']} s per run, "
             f"{data['settings']['rounds']} rounds interleaved across the implementations, "
             "the median round shown, ratios the median of each round's; valid "
             "notifications each for a distinct unpaid "
             f"payment (store of {data['settings']['store_payments']:,} payments, WAL, "
             "synchronous=FULL, on disk).", ""]
    impls = [impl for impl in IMPLS if impl.key in data["throughput"]]
    through = data["throughput"]
    lines += ["## rkresult through lighttpd", "",
              "| concurrency | " + " | ".join(impl.label for impl in impls) +
              " | ours / baseline | ours / PHP |",
              "|---|" + "---|" * len(impls) + "---|---|"]
    for c in CONCURRENCY:
        def cell(key, field):
            run = through[key].get(str(c)) or through[key].get(c)
            if field == "rps":
                return run["rps"]
            return run["latency_us"][field] / 1000
        ours = through["ours"].get(c) or through["ours"][str(c)]
        ratio_base = ours["ours_over_baseline"]
        ratio_php = ours.get("ours_over_php")
        lines.append(f"| {c} req/s | " + " | ".join(fmt(cell(i.key, "rps"), 0) for i in impls) +
                     f" | {fmt(ratio_base)}× | {fmt(ratio_php)}× |")
        lines.append(f"| {c} p50 / p99 ms | " +
                     " | ".join(f"{fmt(cell(i.key, 'p50'))} / {fmt(cell(i.key, 'p99'))}"
                                for i in impls) + " | | |")
    lines += ["", "Every round's req/s: " + "; ".join(
        f"{i.label} " + ", ".join(
            f"c={c}: " + "/".join(f"{x:.0f}" for x in (through[i.key].get(c) or
                                                      through[i.key][str(c)])["rps_rounds"])
            for c in CONCURRENCY) for i in impls) + "."]
    start = data["start"]
    settings = data["settings"]
    lines += ["", f"## Process start (no-op request: GET, no parameters; store on "
              f"{start['store']}; hyperfine -N, {settings.get('start_rounds', 1)} rounds of "
              f"{settings['start_runs']} runs, programs in turn; each figure the median of the "
              f"rounds', every round's in brackets)", "",
              "| executable | median ms | page faults | × static hello |", "|---|---|---|---|"]
    for name, r in start["programs"].items():
        each_ms = "/".join(fmt(x, 3) for x in r["median_ms_rounds"])
        each_ratio = "/".join(fmt(x) for x in r["vs_hello_rounds"])
        lines.append(f"| {name} | {fmt(r['median_ms'], 3)} ({each_ms}) | "
                     f"{r['minor_faults']:.0f} | {fmt(r['vs_hello'])}× ({each_ratio}) |")
    scale = data["scale"]
    lines += ["", "## rkresult latency against store size (sequential, keep-alive, "
              f"{scale['small']['requests']} requests each, interleaved)", "",
              "| payments in the store | p50 ms | p99 ms |", "|---|---|---|"]
    for name in ("small", "large"):
        r = scale[name]
        lines.append(f"| {r['payments']:,} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} |")
    lines.append(f"| ratio | {fmt(scale['p50_ratio'])}× | {fmt(scale['p99_ratio'])}× |")
    lines += ["", "## rkpayment (first visit of a distinct payment's link: status 1 → 2)", "",
              "| concurrency | req/s | p50 ms | p99 ms |", "|---|---|---|---|"]
    for c, run in data["rkpayment"].items():
        lines.append(f"| {c} | {fmt(run['rps'], 0)} | {fmt(run['latency_us']['p50'] / 1000)} | "
                     f"{fmt(run['latency_us']['p99'] / 1000)} |")
    if data.get("micro"):
        lines += ["", "## Microbenchmarks (Google Benchmark, in-process)", "",
                  "| benchmark | real | CPU |", "|---|---|---|"]
        for name, r in data["micro"].items():
            unit, div = ("µs", 1e3) if r["real_ns"] >= 1e4 else ("ns", 1)
            lines.append(f"| {name} | {fmt(r['real_ns'] / div, 1)} {unit} | "
                         f"{fmt(r['cpu_ns'] / div, 1)} {unit} |")
    lines += ["", "## Targets", ""]
    for target in data["targets"]:
        lines.append(f"- {target['what']}: {fmt(target['value'])}× "
                     f"(target {target['bound']}) — {verdict(target['met'])}")
    programs = data["start"]["programs"]
    floors = [(name, programs[name]["vs_hello"]) for name in programs
              if name.startswith(("hello_cgi_pie", "evp_floor", "contract_floor", "rkresult_nopie"))]
    lines += ["", "For comparison with the process-start target (not shipped, not targets): " +
              "; ".join(f"{name} {fmt(value)}×" for name, value in floors) + "."]
    return "\n".join(lines) + "\n"


def targets(data):
    through, out = data["throughput"], []
    ours16 = through["ours"][16]
    out.append({"what": "rkresult req/s at concurrency 16 / baseline C",
                "value": ours16["ours_over_baseline"], "bound": "≥ 1.0"})
    if "php" in through:
        out.append({"what": "rkresult req/s at concurrency 16 / PHP peer",
                    "value": ours16["ours_over_php"], "bound": "≥ 4.0"})
    programs = data["start"]["programs"]
    for name in ("rkresult", "rkpayment", "rksuccess", "rkfail"):
        out.append({"what": f"{name} process start / static hello-world",
                    "value": programs[name]["vs_hello"], "bound": "≤ 1.5"})
    out.append({"what": "rkresult p50 at 1,000,000 payments / at 1,000",
                "value": data["scale"]["p50_ratio"], "bound": "≤ 1.2"})
    for target in out:
        number = float(target["bound"].split()[1])
        target["met"] = (target["value"] >= number if target["bound"].startswith("≥")
                         else target["value"] <= number)
    return out


def versions(php_cgi):
    def first_line(command):
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
            return (result.stdout or result.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    parts = [first_line(["lighttpd", "-v"]), "SQLite " + sqlite3.sqlite_version,
             first_line(["wrk", "--version"]).split(" [")[0]]
    if php_cgi:
        parts.append(first_line([php_cgi, "-v"]).split(" (")[0])
    return ", ".join(parts)


def commit():
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(description="pmrobokassa's benchmarks")
    parser.add_argument("--bin", default=str(REPO / "build-bench" / "bin"),
                        help="the bench build's bin directory")
    parser.add_argument("--out", default=str(HERE / "results"), help="where latest.* go")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="wrk runs per implementation and concurrency (the median is shown)")
    parser.add_argument("--slice", type=int, default=30000,
                        help="distinct payments prepared per wrk run")
    parser.add_argument("--start-runs", type=int, default=300,
                        help="hyperfine runs of each program per round")
    parser.add_argument("--start-rounds", type=int, default=5,
                        help="rounds of process-start runs (the ratios' median is shown)")
    parser.add_argument("--large", type=int, default=1_000_000, help="the large store's size")
    parser.add_argument("--scale-requests", type=int, default=600)
    parser.add_argument("--micro-min-time", default="0.3")
    parser.add_argument("--no-php", action="store_true", help="skip the PHP peer")
    args = parser.parse_args()

    bin_dir = Path(args.bin).resolve()
    for tool in ("wrk", "hyperfine", "lighttpd"):
        if not shutil.which(tool) and not (tool == "lighttpd" and Path("/usr/sbin/lighttpd").exists()):
            sys.exit(f"bench/run.py: {tool} is not installed (scripts/bench.sh installs it)")
    php_cgi = None if args.no_php else shutil.which("php-cgi")
    impls = [impl for impl in IMPLS if impl.key != "php" or php_cgi]
    if not php_cgi and not args.no_php:
        log("php-cgi not found: the PHP peer is skipped")

    began = time.monotonic()
    data = {"when": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": commit(), "versions": versions(php_cgi),
            "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                        "uptime_before": uptime()},
            "settings": {"duration": args.duration, "rounds": args.rounds,
                         "slice": args.slice, "start_runs": args.start_runs,
                         "start_rounds": args.start_rounds, "large": args.large,
                         "scale_requests": args.scale_requests}}
    work = Path(tempfile.mkdtemp(prefix="rk-bench-"))
    try:
        # Process start first, while the machine is quiet: before the
        # large stores are written and while no server runs.
        log("4: process start")
        small = work / "start-template"
        make_root(bin_dir, small, 1000)
        data["start"] = measure_start(args, bin_dir, work, small, php_cgi)
        for name, r in data["start"]["programs"].items():
            log(f"  {name:30} {r['median_ms']:7.3f} ms  {r['vs_hello']:5.2f}× hello")
        template = work / "template"
        store_payments = args.slice * (1 + args.rounds * len(CONCURRENCY) + 2)
        data["settings"]["store_payments"] = store_payments
        log(f"store: {store_payments} payments")
        make_root(bin_dir, template, store_payments)

        log("1-3, 6: throughput through lighttpd")
        results, payment_runs = measure_throughput(args, bin_dir, work, template, args.slice,
                                                   impls, php_cgi)
        data["throughput"] = results
        data["rkpayment"] = payment_runs
        log("5: store size")
        data["scale"] = measure_scale(args, bin_dir, work, php_cgi)
        log(f"  p50 {data['scale']['small']['p50_ms']:.2f} ms at 1,000, "
            f"{data['scale']['large']['p50_ms']:.2f} ms at {args.large:,}")
        log("microbenchmarks")
        data["micro"] = measure_micro(args, bin_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data["machine"]["uptime_after"] = uptime()
    data["seconds"] = round(time.monotonic() - began, 1)
    data["targets"] = targets(data)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    markdown = report(data)
    (out / "latest.md").write_text(markdown)
    print(markdown)
    log(f"wrote {out / 'latest.json'} and {out / 'latest.md'} in {data['seconds']} s")


if __name__ == "__main__":
    main()
