#!/usr/bin/env python3
"""capwatch benchmark harness: capwatch vs urlwatch 2.29 vs webchanges 3.37.0 on the same pages.

Everything runs on this machine: pages are generated into bench/data/, served on 127.0.0.1
by examples/bench_serve.rs (bench/serve.py with --server python), and the peers are
installed from PyPI into bench/.venv (skipped with a message when that fails). Parts:

  cycles   per N: first (all new) / second (10 % changed inside <main>) / third (nothing
           changed), each tool, --reps repetitions from the same starting state;
           wall, CPU (user+sys), peak RSS (wait4 rusage, as GNU time reports it),
           database size, server counters and CPU, and a check of the reported set
  floor    CPU per page of scraper parse+select `main` (examples/scraper_floor.rs)
  storage  a simulated year of hourly checks (examples/storage_year.rs), then
           `capwatch status --json` / `history --json` latency on that database
  daemon   `capwatch run` over 500 sources on a 5-second cron; VmRSS per cycle

  python3 bench/run.py --ns 100,500,5000 --reps 3 --write BENCHMARKS.md
  python3 bench/run.py --quick --write /tmp/quick.md
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pages  # noqa: E402

DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "out")
VENV = os.path.join(HERE, ".venv")
RELEASE = os.path.join(ROOT, "target", "release")
CAPWATCH = os.path.join(RELEASE, "capwatch")
BENCH_SERVE = os.path.join(RELEASE, "examples", "bench_serve")
PEER_VERSIONS = {"urlwatch": "2.29", "webchanges": "3.37.0"}
SEED = 1


def log(*a):
    print(*a, flush=True, file=sys.stderr)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ----------------------------------------------------------------------------- processes


GNU_TIME = "/usr/bin/time"


def run_measured(cmd, env=None, cwd=None, stdout_path=None, stderr_path=None, timeout=3600):
    """Run `cmd` to completion: wall (monotonic clock), user/sys CPU (wait4) and peak RSS.

    Peak RSS comes from GNU time (`/usr/bin/time`, Debian package `time`) run as the
    launcher: a process forked straight from this Python harness would report the
    harness's own resident size as its high-water mark (Linux keeps the pre-exec
    maximum). Without GNU time the wait4() figure is used and flagged.
    """
    out = open(stdout_path, "w") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
    tfile = None
    if os.access(GNU_TIME, os.X_OK):
        fd, tfile = tempfile.mkstemp(prefix="gnutime-", dir=OUT)
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", tfile, *cmd]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
    timer = threading.Timer(timeout, lambda: p.kill())
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    for f in (out, err):
        if f is not subprocess.DEVNULL:
            f.close()
    maxrss, rss_from = ru.ru_maxrss, "wait4 (includes the harness's size at fork)"
    if tfile:
        try:
            maxrss, rss_from = int(open(tfile).read().split()[-1]), "GNU time"
        except (ValueError, IndexError):
            pass
        os.remove(tfile)
    return {"rc": p.returncode, "wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
            "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": maxrss, "rss_from": rss_from}


class PageServer:
    """The page server in a child process, stopped by its PID.

    `kind` "rust" is examples/bench_serve.rs (one thread, ~1/4 of serve.py's CPU per request);
    "python" is bench/serve.py, the reference it was ported from (`--server python`).
    """

    kind = "rust"

    def __init__(self, pages_dir, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.port_file = os.path.join(workdir, "serve.port")
        if os.path.exists(self.port_file):
            os.remove(self.port_file)
        self.log = open(os.path.join(workdir, "serve.log"), "w")
        cmd = [BENCH_SERVE] if self.kind == "rust" else [sys.executable, os.path.join(HERE, "serve.py")]
        if not os.path.exists(cmd[0]):
            raise RuntimeError(f"{cmd[0]} is missing: build it (cargo build --release --example bench_serve) "
                               "or use --server python")
        self.proc = subprocess.Popen([*cmd, "--dir", pages_dir, "--port-file", self.port_file,
                                      "--max-seconds", "7200"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while not os.path.exists(self.port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("page server did not start")
            time.sleep(0.05)
        self.port = int(open(self.port_file).read())
        self.base = f"http://127.0.0.1:{self.port}"

    def stats(self, reset=False):
        with urllib.request.urlopen(self.base + "/__stats" + ("?reset=1" if reset else ""), timeout=10) as r:
            return json.loads(r.read())

    def cpu(self):
        """The server's own CPU so far (utime + stime, 10 ms ticks)."""
        return cpu_s(self.proc.pid)

    def warm(self, names):
        """Fetch pages once (plain and gzip) so no tool pays the server's first hash/gzip of a page."""
        def get(name):
            for enc in ("gzip", "identity"):
                req = urllib.request.Request(f"{self.base}/docs/{name}", headers={"Accept-Encoding": enc})
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(get, names))
        self.stats(reset=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def page_names(n):
    return [pages.PAGE_NAME.format(i) for i in range(n)]


# ----------------------------------------------------------------------------- tools


def capwatch_registry(base, n, db, schedule="0 6 * * *", concurrency=8, per_host=8):
    out = [f'''# Written by bench/run.py: one guide, one capability per page, one source each.
[settings]
database = "{db}"
schedule = "{schedule}"
# One loopback host serves every page: allow as many fetches to it as overall.
concurrency = {concurrency}
per_host = {per_host}
timeout = "30s"

[[guide]]
id = "bench"
title = "Benchmark guide"
validated_on = "2026-11-01"
max_age = "90d"
owners = ["owner@example.com"]
''']
    for i in range(n):
        out.append(f'''
[[capability]]
id = "page-{i:05d}"
guide = "bench"
name = "{pages.product(SEED, i)}"
claim = {{ stage = "beta" }}
  [[capability.source]]
  url = "{base}/docs/page-{i:05d}.html"
  select = "main"
''')
    return "".join(out)


URLWATCH_CONFIG = """display:
  new: true
  error: true
  unchanged: false
  empty-diff: true
report:
  stdout:
    enabled: true
    color: false
  email:
    enabled: false
"""

WEBCHANGES_CONFIG = """display:
  new: true
  error: true
  unchanged: false
  empty-diff: false
report:
  stdout:
    enabled: true
    color: false
  email:
    enabled: false
version_check:
  enabled: false
"""


def peer_jobs(base, n, filter_key):
    return "---\n".join(f"name: page-{i:05d}\nurl: {base}/docs/page-{i:05d}.html\n{filter_key}:\n"
                        f"  - css: main\n  - html2text\n" for i in range(n))


class Tool:
    """One monitor: how to set up its work dir, run a cycle and read its report."""

    name = ""
    state_files = ()

    def setup(self, w, base, n):
        raise NotImplementedError

    def command(self, w):
        raise NotImplementedError

    def env(self, w):
        return dict(os.environ)

    def reported(self, stdout_text):
        """{'new': set, 'changed': set, 'unchanged': int or None, 'failed': int}"""
        raise NotImplementedError

    def db_bytes(self, w):
        return sum(os.path.getsize(os.path.join(w, "state", f)) for f in os.listdir(os.path.join(w, "state")))


class Capwatch(Tool):
    name = "capwatch"

    def __init__(self, concurrency, per_host):
        self.concurrency = concurrency
        self.per_host = per_host

    def setup(self, w, base, n):
        with open(os.path.join(w, "sources.toml"), "w") as f:
            f.write(capwatch_registry(base, n, os.path.join(w, "state", "capwatch.db"),
                                      concurrency=self.concurrency, per_host=self.per_host))

    def command(self, w):
        return [CAPWATCH, "--config", os.path.join(w, "sources.toml"), "check"]

    def env(self, w):
        e = dict(os.environ)
        e.pop("CAPWATCH_DB", None)
        e.pop("CAPWATCH_CONFIG", None)
        return e

    def reported(self, text):
        new, changed, unchanged, failed = set(), set(), 0, 0
        summary = None
        for line in text.splitlines():
            if line.startswith("page-"):
                sid, what = line.split(None, 1)
                if what.startswith("baseline stored"):
                    new.add(sid)
                elif what.startswith("changed"):
                    changed.add(sid)
                elif what.startswith("unchanged"):
                    unchanged += 1
                elif what.startswith("failed"):
                    failed += 1
            elif line.startswith("checked "):
                summary = line.strip()
        return {"new": new, "changed": changed, "unchanged": unchanged, "failed": failed, "summary": summary}


class Peer(Tool):
    def __init__(self, name):
        self.name = name
        self.bin = os.path.join(VENV, "bin", name)

    def setup(self, w, base, n):
        key = "filter" if self.name == "urlwatch" else "filters"
        with open(os.path.join(w, "jobs.yaml"), "w") as f:
            f.write(peer_jobs(base, n, key))
        with open(os.path.join(w, "config.yaml"), "w") as f:
            f.write(URLWATCH_CONFIG if self.name == "urlwatch" else WEBCHANGES_CONFIG)

    def command(self, w):
        if self.name == "urlwatch":
            return [self.bin, "--urls", w + "/jobs.yaml", "--config", w + "/config.yaml",
                    "--cache", w + "/state/cache.db", "--hooks", w + "/hooks.py"]
        return [self.bin, "--jobs", w + "/jobs.yaml", "--config", w + "/config.yaml",
                "--database", w + "/state/cache.db", "--hooks", w + "/hooks.py"]

    def env(self, w):
        return dict(os.environ, HOME=w, XDG_CONFIG_HOME=w + "/xdg-config", XDG_CACHE_HOME=w + "/xdg-cache",
                    NO_COLOR="1", PYTHONWARNINGS="ignore")

    def reported(self, text):
        new, changed, failed = set(), set(), 0
        for kind, nm in re.findall(r"^\s*\d+\.\s+(NEW|CHANGED|ERROR|UNCHANGED|EMPTY)[^:]*:\s+(\S+)", text, re.M):
            if kind == "NEW":
                new.add(nm)
            elif kind == "CHANGED":
                changed.add(nm)
            elif kind == "ERROR":
                failed += 1
        return {"new": new, "changed": changed, "unchanged": None, "failed": failed, "summary": None}


def setup_peers(skip):
    """Install urlwatch and webchanges into bench/.venv; returns the names available."""
    if skip:
        log("peers: skipped (--no-peers)")
        return []
    py = os.path.join(VENV, "bin", "python")
    want = [f"{k}=={v}" for k, v in PEER_VERSIONS.items()]
    try:
        if not os.path.exists(py):
            log("peers: creating bench/.venv")
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True, capture_output=True)
        have = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        if not all(w in have for w in want):
            log("peers: pip install", " ".join(want), "(from PyPI)")
            r = subprocess.run([py, "-m", "pip", "install", "-q", *want], capture_output=True, text=True,
                               timeout=900)
            if r.returncode != 0:
                raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "pip failed")
    except Exception as e:  # noqa: BLE001 - any failure means "no peers", said plainly
        log(f"peers: NOT MEASURED — could not install {' '.join(want)} into bench/.venv: {e}")
        return []
    return [name for name in PEER_VERSIONS if os.path.exists(os.path.join(VENV, "bin", name))]


# ----------------------------------------------------------------------------- cycles


def restore_state(w, snap):
    st = os.path.join(w, "state")
    shutil.rmtree(st, ignore_errors=True)
    if snap:
        shutil.copytree(snap, st)
    else:
        os.makedirs(st)


def run_cycle(tool, w, server, tag):
    server.stats(reset=True)
    outp = os.path.join(w, f"{tag}.stdout")
    cpu0 = server.cpu()
    m = run_measured(tool.command(w), env=tool.env(w), cwd=w, stdout_path=outp,
                     stderr_path=os.path.join(w, f"{tag}.stderr"))
    cpu1 = server.cpu()
    st = server.stats(reset=True)
    rep = tool.reported(open(outp, errors="replace").read())
    m.update({"tag": tag, "db_bytes": tool.db_bytes(w),
              "server_cpu_s": cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None,
              "server": {k: st.get(k, 0) for k in ("requests", "status_200", "status_304", "with_if_none_match",
                                                   "with_if_modified_since", "connections")},
              "new": len(rep["new"]), "changed": sorted(rep["changed"]), "unchanged": rep["unchanged"],
              "failed": rep["failed"], "summary": rep["summary"], "new_set": sorted(rep["new"])})
    return m


def verify(cycle, run, n, expected_changed):
    if run["rc"] != 0:
        return f"exit status {run['rc']}"
    if run["failed"]:
        return f"{run['failed']} failed"
    if cycle == "first":
        return "ok" if run["new"] == n and not run["changed"] else f"expected {n} new, got {run['new']}"
    if cycle == "second":
        return "ok" if run["changed"] == expected_changed else \
            f"changed set differs: {len(run['changed'])} reported, {len(expected_changed)} expected"
    ok = not run["changed"] and run["new"] == 0 and (run["unchanged"] in (None, n))
    return "ok" if ok else f"expected nothing, got {len(run['changed'])} changed / {run['new']} new"


def summarize(tool, n, cycle, runs, expected_note):
    def med(k):
        return median([r[k] for r in runs])
    return {"tool": tool, "n": n, "cycle": cycle, "reps": len(runs),
            "wall_s": med("wall_s"), "wall_min_s": min(r["wall_s"] for r in runs),
            "wall_max_s": max(r["wall_s"] for r in runs), "cpu_s": med("cpu_s"),
            "maxrss_mb": med("maxrss_kb") / 1024, "db_bytes": runs[-1]["db_bytes"],
            "server_cpu_s": med("server_cpu_s"),
            "server": runs[-1]["server"], "verified": [r["verified"] for r in runs],
            "expected": expected_note, "summary": runs[-1]["summary"]}


def bench_cycles(n, tools, reps, fraction):
    pages_dir = os.path.join(DATA, f"pages-{n}")
    shutil.rmtree(pages_dir, ignore_errors=True)
    t = time.monotonic()
    gen = pages.generate(pages_dir, n, SEED)
    log(f"== N={n}: generated {n} pages (mean {gen['mean_kb']} KB) in {time.monotonic() - t:.1f} s")
    work = os.path.join(OUT, f"cycles-{n}")
    shutil.rmtree(work, ignore_errors=True)
    server = PageServer(pages_dir, work)
    rows = []
    try:
        server.warm(page_names(n))
        dirs = {}
        for tool in tools:
            w = os.path.join(work, tool.name)
            os.makedirs(w)
            tool.setup(w, server.base, n)
            dirs[tool.name] = w
        expected = {"first": [], "second": [], "third": []}
        for cycle in ("first", "second", "third"):
            if cycle == "second":
                time.sleep(1.1)  # Last-Modified has one-second resolution
                mut = pages.mutate(pages_dir, fraction)
                expected["second"] = sorted(p[:-5] for p in mut["main_changed_pages"])
                server.warm(mut["main_changed_pages"])
            for tool in tools:
                w = dirs[tool.name]
                tool_reps = reps[tool.name]
                runs = []
                for rep in range(tool_reps):
                    restore_state(w, None if cycle == "first" else os.path.join(w, f"snap-{cycle}"))
                    r = run_cycle(tool, w, server, f"{cycle}-{rep}")
                    r["verified"] = verify(cycle, r, n, expected[cycle])
                    runs.append(r)
                    log(f"  {tool.name:<10} {cycle:<6} rep {rep}: {r['wall_s']:.3f} s wall, {r['cpu_s']:.3f} s CPU, "
                        f"{r['maxrss_kb'] / 1024:.1f} MB, {r['server']['status_200']}x200 "
                        f"{r['server']['status_304']}x304, server {fmt(r['server_cpu_s'], 2)} s CPU — "
                        f"{r['verified']}")
                nxt = {"first": "snap-second", "second": "snap-third"}.get(cycle)
                if nxt:
                    shutil.rmtree(os.path.join(w, nxt), ignore_errors=True)
                    shutil.copytree(os.path.join(w, "state"), os.path.join(w, nxt))
                note = {"first": f"{n} new", "second": f"exactly the {len(expected['second'])} mutated changed",
                        "third": "nothing changed"}[cycle]
                rows.append(summarize(tool.name, n, cycle, runs, note))
    finally:
        server.stop()
    return rows, gen


# ----------------------------------------------------------------------------- floor, storage, daemon


def bench_floor(n):
    pages_dir = os.path.join(DATA, "pages-floor")
    if not os.path.exists(os.path.join(pages_dir, "manifest.json")):
        pages.generate(pages_dir, n, SEED)
    r = subprocess.run([os.path.join(RELEASE, "examples", "scraper_floor"), pages_dir, "--limit", str(n),
                        "--passes", "3"], capture_output=True, text=True, check=True)
    res = json.loads(r.stdout)
    log(f"== floor: {res}")
    return res


def bench_storage(days, reps):
    d = os.path.join(OUT, "storage")
    shutil.rmtree(d, ignore_errors=True)
    log(f"== storage: {days} simulated days of hourly checks of 100 sources")
    m = run_measured([os.path.join(RELEASE, "examples", "storage_year"), "--dir", d, "--days", str(days)],
                     stdout_path=os.path.join(OUT, "storage.json"), stderr_path=os.path.join(OUT, "storage.err"))
    if m["rc"] != 0:
        raise RuntimeError("storage_year failed: " + open(os.path.join(OUT, "storage.err")).read()[-2000:])
    res = json.loads(open(os.path.join(OUT, "storage.json")).read())
    res["process"] = m
    env = dict(os.environ, CAPWATCH_CONFIG=res["registry"])
    env.pop("CAPWATCH_DB", None)
    cli = {}
    for label, args in (("status --json", ["status", "--json"]),
                        ("history cap-000 --json", ["history", "cap-000", "--json"])):
        runs = [run_measured([CAPWATCH, *args], env=env) for _ in range(reps)]
        cli[label] = {"wall_ms": 1e3 * median([r["wall_s"] for r in runs]),
                      "maxrss_mb": median([r["maxrss_kb"] for r in runs]) / 1024,
                      "rc": [r["rc"] for r in runs]}
    res["cli"] = cli
    log(f"== storage: {json.dumps({k: v for k, v in res.items() if k != 'tables'})}")
    return res


def cpu_s(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def vm_kb(pid, field="VmRSS"):
    """VmRSS (or VmHWM, the peak) of a process in KB, from /proc/PID/status."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def bench_daemon(n, seconds, period, mutate_at):
    pages_dir = os.path.join(DATA, f"pages-daemon-{n}")
    shutil.rmtree(pages_dir, ignore_errors=True)
    pages.generate(pages_dir, n, SEED)
    work = os.path.join(OUT, "daemon")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "state"))
    server = PageServer(pages_dir, work)
    try:
        server.warm(page_names(n))
        toml = os.path.join(work, "sources.toml")
        with open(toml, "w") as f:
            f.write(capwatch_registry(server.base, n, os.path.join(work, "state", "capwatch.db"),
                                      schedule=f"*/{period} * * * * *"))
        env = dict(os.environ, RUST_LOG="capwatch=info")
        env.pop("CAPWATCH_DB", None)
        errp = os.path.join(work, "daemon.log")
        log(f"== daemon: capwatch run over {n} sources, cron */{period} s, {seconds} s")
        with open(errp, "w") as err:
            t0 = time.monotonic()
            p = subprocess.Popen([CAPWATCH, "--config", toml, "--log-format", "json", "run"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=err)
            samples = []
            hwm = None
            mutations = []
            pending = list(mutate_at)
            while time.monotonic() - t0 < seconds and p.poll() is None:
                t = time.monotonic() - t0
                if pending and t >= pending[0]:
                    pending.pop(0)
                    mut = pages.mutate(pages_dir, 0.10)
                    mutations.append((round(t, 1), mut["main_changed"]))
                samples.append((t, vm_kb(p.pid), cpu_s(p.pid)))
                hwm = vm_kb(p.pid, "VmHWM") or hwm
                time.sleep(0.1)
            p.send_signal(signal.SIGTERM)
            _, status, ru = os.wait4(p.pid, 0)
            stop_s = time.monotonic() - t0 - seconds
        # Checks per window from the daemon's own log lines.
        events = []
        for line in open(errp):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            f = e.get("fields", {})
            if f.get("message") == "checked":
                events.append((e.get("timestamp"), f.get("changed"), f.get("baseline")))
        st = server.stats()
    finally:
        server.stop()
    # Windows of one period: RSS at the end and max within, checks done (by log time).
    def parse_ts(s):
        s = re.sub(r"(\.\d{6})\d+", r"\1", s.replace("Z", "+00:00"))
        return datetime.fromisoformat(s).timestamp()
    start_wall = time.time() - (time.monotonic() - t0)
    windows = []
    for k in range(int(seconds // period)):
        lo, hi = k * period, (k + 1) * period
        rss = [s[1] for s in samples if lo <= s[0] < hi and s[1]]
        cpu = [s[2] for s in samples if lo <= s[0] < hi and s[2] is not None]
        ev = [e for e in events if e[0] and lo <= parse_ts(e[0]) - start_wall < hi]
        windows.append({"window": k + 1, "t_end_s": hi, "rss_end_mb": (rss[-1] / 1024) if rss else None,
                        "rss_max_mb": (max(rss) / 1024) if rss else None,
                        "cpu_s": (cpu[-1] - cpu[0]) if len(cpu) > 1 else None, "checks": len(ev),
                        "changed": sum(1 for e in ev if e[1]), "baselines": sum(1 for e in ev if e[2])})
    res = {"n": n, "seconds": seconds, "period_s": period, "mutations": mutations, "windows": windows,
           "exit_status": os.waitstatus_to_exitcode(status), "stop_after_sigterm_s": round(stop_s, 2),
           "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": (hwm or 0) / 1024,
           "checks_total": len(events), "server_requests": st.get("requests"),
           "server_200": st.get("status_200"), "server_304": st.get("status_304")}
    log(f"== daemon: {res['checks_total']} checks, peak {res['maxrss_mb']:.1f} MB, "
        f"windows {[round(w['rss_end_mb'] or 0, 1) for w in windows]}")
    return res


# ----------------------------------------------------------------------------- report


def machine():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    info["free"] = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.strip()
    info["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    info["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
    return info


def fmt(x, d=2):
    if x is None:
        return "–"
    return f"{x:.{d}f}"


def render(res, cmdline):
    L = []
    m = res["machine"]
    L.append("# capwatch benchmarks\n")
    L.append(f"Generated by `bench/run.py` on {res['finished']} (UTC); do not edit by hand — rerun:\n")
    L.append(f"    {cmdline}\n")
    L.append("How the harness works, what each figure means and where the page generator and server come from: "
             "[`bench/README.md`](bench/README.md). Raw data: `bench/out/results.json` (not committed).\n")
    L.append("## Machine\n")
    L.append(f"* CPU: {m.get('cpu', '?')}, `nproc` = {m['nproc']}; Linux {m['kernel']}; {m['rustc']}; "
             f"Python {m['python']} (harness, server, peers).")
    L.append(f"* load average at start: {' '.join(m['loadavg_start'])}; at end: {' '.join(res['loadavg_end'])}. "
             "**The machine is shared** with other engineers' builds and tests (the load averages show how "
             "much of that ran around this run), so every figure is the median of several repetitions and "
             "differences under ~20 % are noise.")
    L.append("* `free -m`:\n")
    L.append("```\n" + m["free"] + "\n```\n")
    if res.get("server", "python") == "rust":
        L.append("* The page server (Rust, `examples/bench_serve.rs`, one thread; a port of `bench/serve.py`) runs "
                 "on the same two cores; its CPU is not in any tool's CPU figure. *server CPU s* is what it used "
                 "during the run (`/proc/PID/stat`, 10 ms ticks).\n")
    else:
        L.append("* The page server (Python, `bench/serve.py`) runs on the same two cores; its CPU is not in any "
                 "tool's CPU figure but competes with it for the cores (*server CPU s*: what it used during the "
                 "run, where measured).\n")

    rows = res["cycles"]
    tools = [t for t in ("capwatch", "urlwatch", "webchanges") if any(r["tool"] == t for r in rows)]
    L.append("## Check cycles: capwatch vs urlwatch 2.29 vs webchanges 3.37.0\n")
    if res.get("peers_missing"):
        L.append(f"**Peers not measured**: {res['peers_missing']}\n")
    L.append("Per N: *first* = empty state, every page new; *second* = 10 % of the pages changed inside `<main>`; "
             "*third* = nothing changed (every page answers 304). Each repetition starts from the same saved state. "
             "Wall and CPU (user+sys) are for the whole process, start-up included; peak RSS is `ru_maxrss` "
             "(what GNU `time -v` reports). *ms/page* = median CPU / N. The ratio columns are capwatch ÷ peer "
             "(below 1 = capwatch better). *verified*: every repetition reported exactly the expected set "
             "(N new; the mutated N/10 changed, by name; nothing).\n")
    hdr = ("| N | cycle | tool | reps | wall s (min–max) | CPU s | CPU ms/page | peak RSS MB | DB/state MB | 200/304 "
           "| server CPU s | verified |")
    L.append(hdr)
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    noisy = False
    for r in rows:
        v = "yes" if all(x == "ok" for x in r["verified"]) else "; ".join(sorted(set(r["verified"])))
        mark = ""
        if r["wall_max_s"] > 1.3 * r["wall_min_s"]:
            mark, noisy = " †", True
        L.append(f"| {r['n']} | {r['cycle']} | {r['tool']} | {r['reps']} | {fmt(r['wall_s'], 3)} "
                 f"({fmt(r['wall_min_s'], 2)}–{fmt(r['wall_max_s'], 2)}){mark} | {fmt(r['cpu_s'], 3)} | "
                 f"{fmt(1000 * r['cpu_s'] / r['n'], 2)} | {fmt(r['maxrss_mb'], 1)} | "
                 f"{fmt(r['db_bytes'] / 1e6, 2)} | {r['server']['status_200']}/{r['server']['status_304']} | "
                 f"{fmt(r.get('server_cpu_s'), 2)} | {v} |")
    L.append("")
    if noisy:
        L.append("† The repetitions' wall times differ by more than 30 %: other work on the machine slowed some of "
                 "them (wall well above CPU). Compare CPU for those rows.\n")
    peers = [t for t in tools if t != "capwatch"]
    if peers:
        L.append("### Ratios (capwatch ÷ peer, medians)\n")
        h = "| N | cycle | " + " | ".join(f"wall ÷ {p} | CPU ÷ {p} | RSS ÷ {p}" for p in peers) + " |"
        L.append(h)
        L.append("|---|---|" + "---|---|---|" * len(peers))
        by = {(r["tool"], r["n"], r["cycle"]): r for r in rows}
        for r in rows:
            if r["tool"] != "capwatch":
                continue
            cells = []
            for p in peers:
                q = by.get((p, r["n"], r["cycle"]))
                if not q:
                    cells.append("– | – | –")
                    continue
                cells.append(f"{r['wall_s'] / q['wall_s']:.3f} | {r['cpu_s'] / q['cpu_s']:.3f} | "
                             f"{r['maxrss_mb'] / q['maxrss_mb']:.3f}")
            L.append(f"| {r['n']} | {r['cycle']} | " + " | ".join(cells) + " |")
        L.append("")

    fl = res.get("floor")
    if fl:
        L.append("## CPU per page against the scraper floor\n")
        L.append(f"`examples/scraper_floor.rs` over {fl['pages']} of the same pages (mean {fl['mean_kb']:.1f} KB), "
                 f"one thread, median of {fl['passes']} passes, thread CPU time:\n")
        L.append("| what | CPU ms/page |")
        L.append("|---|---|")
        L.append(f"| scraper `Html::parse_document` + select `main` (the floor) | {fl['scraper_parse_select_cpu_ms']:.2f} |")
        L.append(f"| capwatch `extract::extract` (parse, select, blocks, text) + hash | {fl['capwatch_extract_cpu_ms']:.2f} |")
        L.append(f"| … + status inference (`infer::infer`) | {fl['capwatch_extract_infer_cpu_ms']:.2f} |")
        for r in rows:
            if r["tool"] == "capwatch" and r["cycle"] == "first":
                L.append(f"| `capwatch check`, first cycle, N={r['n']} (whole process ÷ N) | "
                         f"{1000 * r['cpu_s'] / r['n']:.2f} ({1000 * r['cpu_s'] / r['n'] / fl['scraper_parse_select_cpu_ms']:.2f}× floor) |")
        L.append("")

    tg = res.get("targets")
    if tg:
        L.append("## Targets at N = 500\n")
        L.append("| target | measured | met |")
        L.append("|---|---|---|")
        for t in tg:
            L.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
        L.append("")
        missed = "" if all(t["met"] for t in tg) else " and why the missed targets are missed"
        L.append(f"What the profiles showed, what was changed in capwatch (with before/after figures){missed}: "
                 "[`bench/README.md`](bench/README.md#what-the-profiles-showed-and-what-was-changed).\n")

    s = res.get("storage")
    if s:
        L.append("## Storage growth: a simulated year\n")
        L.append(f"`examples/storage_year.rs`: {s['sources']} sources checked hourly for {s['days']} days "
                 f"({s['checks']:,} checks: {s['unchanged']:,} unchanged (304), {s['changes']:,} changes — one per "
                 f"source per week, each a new ≈{s['text_bytes'] // 1000} KB text with one line replaced), written "
                 "through `Store` (`set_next_check`, `record_check`, `latest_observation`, `observe`, `set_infer_key`) "
                 "with synthetic time; evaluation + alert queueing once per simulated day; a guide review every 30 days.\n")
        L.append("| figure | value |")
        L.append("|---|---|")
        L.append(f"| database after the year (VACUUM) | {s['db_bytes_year'] / 1e6:.1f} MB |")
        L.append(f"| … before VACUUM (file + WAL) | {s['db_bytes_before_vacuum'] / 1e6:.1f} MB |")
        L.append(f"| bytes one unchanged check adds (a further week of 304s: {s['extra_unchanged_checks']:,} checks, "
                 f"VACUUM before and after) | **{s['bytes_per_unchanged_check']:.0f} B** (target < 200 B) |")
        L.append(f"| write cost per check (whole simulation ÷ checks) | {s['us_per_check']:.0f} µs |")
        L.append(f"| daily evaluation + queue, 100 capabilities (median) | {s['daily_evaluation_ms_median']:.1f} ms |")
        L.append(f"| `pipeline::assess_all` (what `status` computes), in process, median of 7 | {s['status_ms']:.1f} ms |")
        L.append(f"| `report::timeline` for one capability ({s['history_events']} events), median of 7 | {s['history_ms']:.1f} ms |")
        for k, v in s["cli"].items():
            L.append(f"| `capwatch {k}` (whole process, median of {len(v['rc'])}) | {v['wall_ms']:.0f} ms, "
                     f"{v['maxrss_mb']:.1f} MB peak |")
        L.append("")
        if s.get("tables"):
            L.append("Space by table/index after the year (`dbstat`):\n")
            L.append("| table or index | MB |")
            L.append("|---|---|")
            for t in s["tables"][:10]:
                L.append(f"| {t['name']} | {t['bytes'] / 1e6:.2f} |")
            L.append("")

    d = res.get("daemon")
    if d:
        L.append("## Daemon memory\n")
        L.append(f"`capwatch run` over {d['n']} sources, every source on the 6-field cron `*/{d['period_s']} * * * * *`, "
                 f"for {d['seconds']} s; "
                 + (f"10 % of the pages changed at {', '.join(str(t) + ' s' for t, _ in d['mutations'])}. "
                    if d["mutations"] else "no page changed. ")
                 + "VmRSS sampled from `/proc/PID/status` every 0.1 s; checks counted from the daemon's JSON log. "
                 "New sources are first spread over 30 s (the daemon's catch-up), so the first windows are not full "
                 "cycles.\n")
        L.append("| window | ends at s | checks | changed | baselines | CPU s in window | VmRSS at end MB | max VmRSS MB |")
        L.append("|---|---|---|---|---|---|---|---|")
        for w in d["windows"]:
            L.append(f"| {w['window']} | {w['t_end_s']} | {w['checks']} | {w['changed']} | {w['baselines']} | "
                     f"{fmt(w.get('cpu_s'), 2)} | {fmt(w['rss_end_mb'], 1)} | {fmt(w['rss_max_mb'], 1)} |")
        L.append("")
        steady = [w for w in d["windows"] if w["baselines"] == 0 and w["rss_end_mb"]]
        bursts = [w["rss_end_mb"] for w in steady if w["changed"]]
        if steady:
            L.append(f"VmRSS once every source was on its schedule: {steady[0]['rss_end_mb']:.1f} MB before any "
                     "change" + (f"; after each burst of changes: {', '.join(f'{x:.1f}' for x in bursts)} MB"
                                 if bursts else "") + ". Between bursts it moves by at most "
                     f"{max([b['rss_end_mb'] - a['rss_end_mb'] for a, b in zip(steady, steady[1:]) if not b['changed']] or [0]):.1f} MB per window.\n")
        L.append(f"Peak RSS (VmHWM just before SIGTERM) {d['maxrss_mb']:.1f} MB; CPU {d['cpu_s']:.1f} s over {d['seconds']} s; "
                 f"{d['checks_total']} checks; server saw {d['server_200']}×200 / {d['server_304']}×304; exit status "
                 f"{d['exit_status']} after SIGTERM ({d['stop_after_sigterm_s']} s to stop).\n")
    return "\n".join(L) + "\n"


def targets(res):
    by = {(r["tool"], r["n"], r["cycle"]): r for r in res["cycles"]}
    out = []
    c1, u1 = by.get(("capwatch", 500, "first")), by.get(("urlwatch", 500, "first"))
    c3, u3 = by.get(("capwatch", 500, "third")), by.get(("urlwatch", 500, "third"))
    if c1 and u1:
        out.append({"target": "first cycle wall ≤ 1/5 of urlwatch's",
                    "measured": f"{c1['wall_s']:.3f} s vs {u1['wall_s']:.3f} s = 1/{u1['wall_s'] / c1['wall_s']:.1f}",
                    "met": c1["wall_s"] * 5 <= u1["wall_s"]})
    if c3 and u3:
        out.append({"target": "unchanged cycle wall ≤ 1/3 of urlwatch's",
                    "measured": f"{c3['wall_s']:.3f} s vs {u3['wall_s']:.3f} s = 1/{u3['wall_s'] / c3['wall_s']:.1f}",
                    "met": c3["wall_s"] * 3 <= u3["wall_s"]})
    if c1:
        peak = max(by[("capwatch", 500, c)]["maxrss_mb"] for c in ("first", "second", "third")
                   if ("capwatch", 500, c) in by)
        upeak = min((by[("urlwatch", 500, c)]["maxrss_mb"] for c in ("first", "second", "third")
                     if ("urlwatch", 500, c) in by), default=None)
        lim = min(30.0, upeak / 3) if upeak else 30.0
        out.append({"target": "peak RSS ≤ 1/3 of urlwatch's and ≤ 30 MB (worst cycle)",
                    "measured": f"{peak:.1f} MB" + (f" (urlwatch's smallest {upeak:.1f} MB)" if upeak else ""),
                    "met": peak <= lim})
    fl = res.get("floor")
    if c1 and fl:
        per = 1000 * c1["cpu_s"] / 500
        out.append({"target": "first-cycle CPU per page within 2× the scraper floor",
                    "measured": f"{per:.2f} ms vs {fl['scraper_parse_select_cpu_ms']:.2f} ms = "
                                f"{per / fl['scraper_parse_select_cpu_ms']:.2f}×",
                    "met": per <= 2 * fl["scraper_parse_select_cpu_ms"]})
    s = res.get("storage")
    if s:
        out.append({"target": "an unchanged check adds < 200 bytes",
                    "measured": f"{s['bytes_per_unchanged_check']:.0f} B", "met": s["bytes_per_unchanged_check"] < 200})
    return out


KEPT_FROM = "\n## PostgreSQL and several daemons (issue 16)"


def kept_sections(path):
    """The hand-written tail of an existing report (bench/store.py and bench/soak.py figures), kept."""
    try:
        old = open(path).read()
    except OSError:
        return ""
    i = old.find(KEPT_FROM)
    return old[i:] if i >= 0 else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", default="100,500,5000", help="page counts (default 100,500,5000)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per cycle (default 3)")
    ap.add_argument("--peer-reps-large", type=int, default=1,
                    help="repetitions for urlwatch/webchanges at N >= 5000 (default 1: webchanges needs minutes)")
    ap.add_argument("--tools", default="capwatch,urlwatch,webchanges")
    ap.add_argument("--no-peers", action="store_true", help="measure capwatch only")
    ap.add_argument("--parts", default="cycles,floor,storage,daemon")
    ap.add_argument("--concurrency", type=int, default=8, help="capwatch concurrency = per_host (default 8)")
    ap.add_argument("--storage-days", type=int, default=365)
    ap.add_argument("--daemon-seconds", type=int, default=240)
    ap.add_argument("--daemon-mutate-every", type=int, default=20,
                    help="change 10 %% of the pages every this many seconds, from 40 s on (default 20)")
    ap.add_argument("--quick", action="store_true",
                    help="N=100,500, 1 repetition, 60 simulated days, 45 s of daemon (a few minutes)")
    ap.add_argument("--no-build", action="store_true", help="use the existing target/release binaries")
    ap.add_argument("--server", choices=("rust", "python"), default="rust",
                    help="page server: examples/bench_serve.rs (default) or bench/serve.py")
    ap.add_argument("--write", metavar="FILE", help="write the markdown report here (e.g. BENCHMARKS.md)")
    ap.add_argument("--from-results", metavar="JSON",
                    help="measure nothing: render the report from a results.json an earlier run wrote")
    a = ap.parse_args()
    if a.from_results:
        res = json.load(open(a.from_results))
        text = render(res, res.get("cmdline", "python3 bench/run.py --ns 100,500,5000 --reps 3 --write BENCHMARKS.md"))
        if a.write:
            with open(a.write, "w") as f:
                f.write(text + kept_sections(a.write))
        else:
            print(text)
        return
    if a.quick:
        a.ns, a.reps, a.storage_days, a.daemon_seconds = "100,500", 1, 60, 45
    cmdline = "python3 bench/run.py " + " ".join(sys.argv[1:])
    parts = a.parts.split(",")
    os.makedirs(OUT, exist_ok=True)
    t_start = time.monotonic()
    res = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cycles": [],
           "cmdline": cmdline, "server": a.server}
    PageServer.kind = a.server

    if not a.no_build:
        build = ["--bin", "capwatch", "--example", "scraper_floor", "--example", "storage_year"]
        if a.server == "rust":
            build += ["--example", "bench_serve"]
        log("building: cargo build --release " + " ".join(build))
        subprocess.run(["cargo", "build", "--release", "--locked", *build], cwd=ROOT, check=True)

    if "cycles" in parts:
        wanted = a.tools.split(",")
        peers = setup_peers(a.no_peers) if any(t != "capwatch" for t in wanted) else []
        missing = [t for t in wanted if t != "capwatch" and t not in peers]
        if missing and not a.no_peers:
            res["peers_missing"] = f"{', '.join(missing)} could not be installed into bench/.venv (see the log)"
        tools = ([Capwatch(a.concurrency, a.concurrency)] if "capwatch" in wanted else []) + \
            [Peer(p) for p in peers if p in wanted]
        res["versions"] = {"capwatch": subprocess.run([CAPWATCH, "--version"], capture_output=True,
                                                      text=True).stdout.strip(), **PEER_VERSIONS}
        for n in [int(x) for x in a.ns.split(",")]:
            reps = {t.name: (a.reps if t.name == "capwatch" or n < 5000 else min(a.reps, a.peer_reps_large))
                    for t in tools}
            rows, gen = bench_cycles(n, tools, reps, 0.10)
            res["cycles"].extend(rows)
            res.setdefault("pages", {})[n] = gen
            json.dump(res, open(os.path.join(OUT, "results.json"), "w"), indent=1, default=str)
    if "floor" in parts:
        res["floor"] = bench_floor(500)
    if "storage" in parts:
        res["storage"] = bench_storage(a.storage_days, 5)
    if "daemon" in parts:
        period = 5
        res["daemon"] = bench_daemon(500, a.daemon_seconds, period,
                                     list(range(42, a.daemon_seconds - period, a.daemon_mutate_every)))
    res["targets"] = targets(res)
    res["finished"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["harness_s"] = round(time.monotonic() - t_start, 1)
    json.dump(res, open(os.path.join(OUT, "results.json"), "w"), indent=1, default=str)
    text = render(res, cmdline)
    if a.write:
        kept = kept_sections(a.write)
        with open(a.write, "w") as f:
            f.write(text + kept)
        log(f"wrote {a.write}")
    else:
        print(text)
    log(f"harness took {res['harness_s']:.0f} s")


if __name__ == "__main__":
    main()
