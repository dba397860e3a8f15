#!/usr/bin/env python3
"""Store benchmarks for issue 16: SQLite vs PostgreSQL, one daemon vs two, and /metrics at scale.

Parts (each a subcommand; every run appends one JSON line to bench/out/store/results.jsonl):

  cycle    one full cycle of `capwatch run` over N loopback sources, all due at start:
           the registry is loaded into an empty database with `capwatch status` (which
           syncs it and makes every source due now), then K daemons start on it (K > 1
           only on PostgreSQL; they split the work with leases). Measured until every
           source has a `check` row (the database is polled: a `count(*)` every 0.5 s
           through one long-lived psql session, or SQLite read-only): wall time, CPU
           (utime + stime from /proc/PID/stat) of the daemons, of the PostgreSQL server
           (the postmaster's own and reaped children's time plus its live backends'),
           of the page server, and of the whole machine (/proc/stat), and the database
           size (SQLite file + WAL; `pg_database_size`).
           --seed check: a `capwatch check` first stores every baseline, then every source
           is made due again (`UPDATE source SET next_check_at = now`): the daemons' cycle
           is the second one, all 304. --mode check: one `capwatch check` instead of the
           daemons (one evaluation at the end instead of one per batch), until it exits;
           CPU and peak RSS from wait4.
           Note: a daemon spreads overdue sources over 30 s when it starts
           (Store::reschedule), so "all due at start" means "all due within 30 s".
           --pages big: bench/pages.py pages (60–125 KB, warmed on the server first);
           --pages small: ≈ 3 KB pages written here (not warmed: the server's first
           hash + gzip of a 3 KB page is a few µs).
  metrics  fill a database with ~1,000,000 `check` rows and ~100,000 `snapshot` and
           `change` rows: 1,000 sources checked once by `capwatch check`, then synthetic
           rows bulk-inserted with SQL (1,000 checks and 100 versions per source over the
           past year), with the running totals (`check_tally`, `row_tally`) rebuilt the way
           migration 0010 builds them; then `capwatch serve` and 20 timed requests
           (after one warm-up) of GET /metrics, /api/v1/capabilities and
           /api/v1/capabilities/{id}/history on one keep-alive connection.

  export CARGO_TARGET_DIR=/work/target-bench   # where the release build is
  PG=postgres://capwatch@127.0.0.1:55440/b1      # a database this script may drop and re-create
  python3 bench/store.py cycle --db sqlite --n 5000 --pages big
  python3 bench/store.py cycle --db $PG --n 5000 --pages big --daemons 2
  python3 bench/store.py cycle --db $PG --n 5000 --pages big --seed check     # all-304 cycle
  python3 bench/store.py cycle --db $PG --n 100000 --pages small --mode check
  python3 bench/store.py metrics --db sqlite
  python3 bench/store.py metrics --db $PG
  python3 bench/store.py table            # the results as markdown tables

PostgreSQL: the server's data directory (for its CPU) is --pgdata (default /tmp/pgb/data);
`psql` must be on PATH. Binaries: $CARGO_TARGET_DIR/release/capwatch and
.../examples/bench_serve (default target/), from
`cargo build --release --locked --bin capwatch --example bench_serve`.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pages  # noqa: E402
import run  # noqa: E402  (PageServer, cpu_s, vm_kb)

TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
CAPWATCH = os.path.join(TARGET, "release", "capwatch")
run.BENCH_SERVE = os.path.join(TARGET, "release", "examples", "bench_serve")
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "out", "store")
RESULTS = os.path.join(OUT, "results.jsonl")
TICK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True, file=sys.stderr)


# ----------------------------------------------------------------------------- pages


def small_page(i, version=0):
    """A ≈ 3 KB documentation page about "Acme Widget {i}" with a beta banner in <main>."""
    name = f"Acme Widget {i}"
    paras = "".join(
        f"<p>{name} step {k}: configure the widget endpoint, send a request with the access token, "
        f"and read the JSON answer; retries use exponential backoff up to {k + 3} times.</p>\n"
        for k in range(12))
    extra = f"<p>Revision {version}: a change to the page.</p>" if version else ""
    return (f"<!doctype html><html><head><title>{name} | Docs</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/docs'>Docs</a></nav>\n<main><h1>{name}</h1>\n"
            f"<p>Note: This feature is in beta and is available in the following regions: us-east, eu-west.</p>\n"
            f"{paras}{extra}</main><footer>© Acme</footer></body></html>\n")


def ensure_pages(kind, n):
    # Small pages: one directory for every N (a registry of N uses pages 0..N-1).
    d = os.path.join(DATA, f"{kind}-{n}" if kind == "pages" else "small")
    mf = os.path.join(d, "manifest.json")
    if os.path.exists(mf):
        m = json.load(open(mf))
        if m.get("round", 0) == 0 and (m.get("n") == n or (kind == "small" and m.get("n", 0) >= n)):
            return d
    t = time.monotonic()
    if kind == "pages":
        pages.generate(d, n, 1)
    else:
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            with open(os.path.join(d, pages.PAGE_NAME.format(i)), "w") as f:
                f.write(small_page(i))
        json.dump({"n": n, "round": 0}, open(mf, "w"))
    log(f"generated {n} {kind} pages in {time.monotonic() - t:.0f} s")
    return d


def registry(base, n, db, small, schedule="0 6 * * *"):
    out = [f'''# Written by bench/store.py: one guide, one capability per page, one source each.
[settings]
database = "{db}"
schedule = "{schedule}"
concurrency = 8
per_host = 8
timeout = "30s"

[[guide]]
id = "bench"
title = "Benchmark guide"
validated_on = "2026-11-01"
max_age = "90d"
owners = ["owner@example.com"]
''']
    for i in range(n):
        name = f"Acme Widget {i}" if small else pages.product(1, i)
        out.append(f'''
[[capability]]
id = "page-{i:05d}"
guide = "bench"
name = "{name}"
claim = {{ stage = "beta" }}
  [[capability.source]]
  url = "{base}/docs/page-{i:05d}.html"
  select = "main"
''')
    return "".join(out)


# ----------------------------------------------------------------------------- databases


class Pg:
    def __init__(self, url, pgdata):
        self.url = url
        u = urllib.parse.urlparse(url)
        self.name = u.path.lstrip("/")
        self.base = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", u.hostname,
                     "-p", str(u.port or 5432), "-U", u.username or "postgres"]
        self.pgdata = pgdata
        self.session = None

    def sql(self, q, db=None):
        return subprocess.run([*self.base, "-d", db or self.name, "-c", q], check=True,
                              capture_output=True, text=True).stdout.strip()

    def reset(self):
        self.sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', db="postgres")
        self.sql(f'CREATE DATABASE "{self.name}"', db="postgres")

    def open_session(self):
        self.session = subprocess.Popen([*self.base, "-d", self.name], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def ask(self, q):
        """One query on the long-lived session (no new connection per poll)."""
        self.session.stdin.write(q.rstrip(";") + ";\n\\echo __END\n")
        self.session.stdin.flush()
        lines = []
        while True:
            line = self.session.stdout.readline()
            if not line or line.strip() == "__END":
                break
            lines.append(line.strip())
        return lines

    def close_session(self):
        if self.session:
            self.session.stdin.close()
            self.session.wait(10)
            self.session = None

    def checks(self):
        r = self.ask('SELECT count(*) FROM "check"')
        return int(r[-1]) if r and r[-1].isdigit() else 0

    def size(self):
        return int(self.sql("SELECT pg_database_size(current_database())"))

    def counts(self):
        r = self.sql('SELECT (SELECT count(*) FROM "check"), (SELECT count(*) FROM snapshot), '
                     '(SELECT count(*) FROM content), (SELECT count(*) FROM change)')
        return dict(zip(("check", "snapshot", "content", "change"), map(int, r.split("|"))))

    def cpu(self):
        """CPU seconds of the whole server so far: the postmaster (own + reaped children) + live children."""
        pm = int(open(os.path.join(self.pgdata, "postmaster.pid")).readline())
        f = open(f"/proc/{pm}/stat").read().rsplit(")", 1)[1].split()
        total = sum(int(x) for x in f[11:15])
        try:
            kids = open(f"/proc/{pm}/task/{pm}/children").read().split()
        except OSError:
            kids = []
        for k in kids:
            c = run.cpu_s(int(k))
            total += (c or 0) * TICK
        return total / TICK


class Lite:
    def __init__(self, path):
        self.url = path
        self.path = path

    def reset(self):
        for s in ("", "-wal", "-shm", ".lock"):
            if os.path.exists(self.path + s):
                os.remove(self.path + s)

    def open_session(self):
        self.conn = None

    def checks(self):
        try:
            if self.conn is None:
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
            return self.conn.execute('SELECT count(*) FROM "check"').fetchone()[0]
        except sqlite3.Error:
            self.conn = None
            return 0

    def close_session(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def size(self):
        return sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))

    def counts(self):
        c = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        r = c.execute('SELECT (SELECT count(*) FROM "check"), (SELECT count(*) FROM snapshot), '
                      '(SELECT count(*) FROM content), (SELECT count(*) FROM change)').fetchone()
        c.close()
        return dict(zip(("check", "snapshot", "content", "change"), r))

    def cpu(self):
        return 0.0


def open_db(a, workdir):
    if a.db.startswith("postgres"):
        return Pg(a.db, a.pgdata)
    return Lite(os.path.join(workdir, "capwatch.db"))


def machine_jiffies():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return (sum(f) - idle) / TICK, sum(f) / TICK


def record(res):
    os.makedirs(OUT, exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res, indent=1))


# ----------------------------------------------------------------------------- cycle


def cycle(a):
    kind = "pages" if a.pages == "big" else "small"
    pages_dir = ensure_pages(kind, a.n)
    backend = "postgres" if a.db.startswith("postgres") else "sqlite"
    if a.daemons > 1 and backend == "sqlite":
        sys.exit("several daemons need PostgreSQL (SQLite: one daemon holds the file lock)")
    work = os.path.join(OUT, f"{a.mode}-{a.seed}-{backend}-{a.daemons}d-{a.pages}-{a.n}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run.OUT = work
    db = open_db(a, work)
    db.reset()
    server = run.PageServer(pages_dir, work)
    res = {"part": "cycle", "mode": a.mode, "backend": backend, "daemons": a.daemons, "n": a.n, "pages": a.pages,
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    procs = []
    try:
        if a.pages == "big":
            t = time.monotonic()
            server.warm(run.page_names(a.n))
            log(f"warmed {a.n} pages in {time.monotonic() - t:.0f} s")
        toml = os.path.join(work, "sources.toml")
        with open(toml, "w") as f:
            f.write(registry(server.base, a.n, db.url, a.pages == "small"))
        env = dict(os.environ, RUST_LOG="capwatch=info")
        env.pop("CAPWATCH_DB", None)
        # Load the registry: every source is due from now on. With --seed check, a first
        # `capwatch check` stores every baseline, then every source is made due again, so
        # the daemons' cycle is the second one (all 304).
        t = time.monotonic()
        subprocess.run([CAPWATCH, "--config", toml, "check" if a.seed == "check" else "status"], env=env,
                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "seed.log"), "w"))
        res["seed"] = a.seed
        res["seed_s"] = round(time.monotonic() - t, 2)
        if a.seed == "check":
            now_ms = int(time.time() * 1000)
            if backend == "postgres":
                db.sql(f"UPDATE source SET next_check_at = {now_ms}")
            else:
                c = sqlite3.connect(db.path, timeout=30)
                c.execute(f"UPDATE source SET next_check_at = {now_ms}")
                c.commit()
                c.close()
        log(f"seeded ({a.seed}) {a.n} in {res['seed_s']} s; starting {a.daemons} daemon(s) on {backend}")
        db.open_session()
        base = db.checks()
        res["checks_before"] = base
        pg0, srv0, (busy0, tot0) = db.cpu(), server.cpu(), machine_jiffies()
        t0 = time.monotonic()
        cmd = "check" if a.mode == "check" else "run"
        for k in range(a.daemons):
            err = open(os.path.join(work, f"daemon{k}.log"), "w")
            procs.append(subprocess.Popen([CAPWATCH, "--config", toml, "--log-format", "json", cmd],
                                          env=env, stdout=subprocess.DEVNULL, stderr=err))
        done = 0
        progress = []
        deadline = t0 + a.timeout
        last_log = t0
        rusage = None
        while True:
            if a.mode == "check":
                pid, status, ru = os.wait4(procs[0].pid, os.WNOHANG)
                if pid:
                    procs[0].returncode = os.waitstatus_to_exitcode(status)
                    rusage = ru
            done = db.checks() - base
            now = time.monotonic()
            progress.append((round(now - t0, 2), done))
            if rusage or (a.mode == "run" and done >= a.n) or now > deadline or \
                    any(p.poll() is not None for p in procs):
                break
            if now - last_log > 30:
                log(f"  {done}/{a.n} checked after {now - t0:.0f} s")
                last_log = now
            time.sleep(a.poll)
        wall = time.monotonic() - t0
        if rusage:
            cpu_d, hwm = [rusage.ru_utime + rusage.ru_stime], [rusage.ru_maxrss]
        else:
            cpu_d = [run.cpu_s(p.pid) for p in procs]
            hwm = [run.vm_kb(p.pid, "VmHWM") for p in procs]
        pg1, srv1, (busy1, tot1) = db.cpu(), server.cpu(), machine_jiffies()
        db.close_session()
        res.update({"complete": done >= a.n, "checked": done, "wall_s": round(wall, 2),
                    "daemon_cpu_s": [round(c or 0, 2) for c in cpu_d],
                    "daemon_hwm_mb": [round((h or 0) / 1024, 1) for h in hwm],
                    "pg_cpu_s": round(pg1 - pg0, 2), "server_cpu_s": round(srv1 - srv0, 2),
                    "machine_busy_s": round(busy1 - busy0, 1), "machine_total_s": round(tot1 - tot0, 1),
                    "db_bytes_at_end": db.size()})
        res["daemon_cpu_ms_per_page"] = round(1000 * sum(res["daemon_cpu_s"]) / max(done, 1), 3)
        res["pg_cpu_ms_per_page"] = round(1000 * res["pg_cpu_s"] / max(done, 1), 3)
        ours = sum(res["daemon_cpu_s"]) + res["pg_cpu_s"] + res["server_cpu_s"]
        res["our_cpu_s"] = round(ours, 2)
        res["our_cores_busy"] = round(ours / wall, 2)
        res["machine_cores_busy"] = round(res["machine_busy_s"] / wall, 2)
        res["progress"] = progress[:: max(1, len(progress) // 60)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        server.stop()
    res["db_bytes_after_stop"] = db.size()
    res["bytes_per_source"] = round(res["db_bytes_after_stop"] / a.n)
    res["rows"] = db.counts()
    per = []
    for k in range(a.daemons):
        n_checked = 0
        errors = []
        for line in open(os.path.join(work, f"daemon{k}.log")):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("fields", {}).get("message") == "checked":
                n_checked += 1
            if e.get("level") in ("ERROR", "WARN"):
                errors.append(e.get("fields", {}).get("message", "")[:160])
        per.append({"checked": n_checked, "warn_error": len(errors), "first_errors": errors[:3]})
    res["per_daemon"] = per
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    record(res)


# ----------------------------------------------------------------------------- metrics

BUCKET = """CASE
        WHEN duration_ms <= 50 THEN 50 WHEN duration_ms <= 100 THEN 100
        WHEN duration_ms <= 250 THEN 250 WHEN duration_ms <= 500 THEN 500
        WHEN duration_ms <= 1000 THEN 1000 WHEN duration_ms <= 2500 THEN 2500
        WHEN duration_ms <= 5000 THEN 5000 WHEN duration_ms <= 10000 THEN 10000
        WHEN duration_ms <= 30000 THEN 30000 WHEN duration_ms <= 60000 THEN 60000
        ELSE 9223372036854775807 END"""


def fill_sql(series, day0):
    """Synthetic history for every source: `series(name, lo, hi)` is a row source of integers."""
    year = 365 * 86_400_000
    return [
        # The real rows (one baseline check and snapshot per source) move to a year ago.
        f'UPDATE snapshot SET at = {day0}',
        f'UPDATE "check" SET at = {day0}',
        # 100 more versions per source (the same text: the content table is not what is measured).
        f"""INSERT INTO snapshot (source_id, seq, hash, at, title)
            SELECT s.source_id, 1 + g.x, s.hash, {day0} + g.x * ({year} / 101), s.title
            FROM snapshot s, {series('g', 1, 100)} WHERE s.seq = 1""",
        f"""INSERT INTO change (source_id, from_snapshot, to_snapshot, at, added, removed)
            SELECT b.source_id, a.id, b.id, b.at, 1 + b.seq % 7, b.seq % 3
            FROM snapshot b JOIN snapshot a ON a.source_id = b.source_id AND a.seq = b.seq - 1
            WHERE b.seq > 1""",
        # 999 more checks per source: mostly 304s, every 10th a 200 that found the same text.
        f"""INSERT INTO "check" (source_id, at, outcome, detail, http_status, duration_ms, snapshot_id)
            SELECT s.id, {day0} + g.x * ({year} / 1000),
                   CASE WHEN g.x % 10 = 0 THEN 'ok' ELSE 'not_modified' END, NULL,
                   CASE WHEN g.x % 10 = 0 THEN 200 ELSE 304 END, 3 + (g.x * 37) % 400, NULL
            FROM source s, {series('g', 1, 999)} WHERE s.id IN (SELECT source_id FROM snapshot WHERE seq = 1)""",
        "DELETE FROM check_tally",
        f"""INSERT INTO check_tally (outcome, bucket, n, sum_ms)
            SELECT outcome, b, count(*), sum(duration_ms) FROM
            (SELECT outcome, duration_ms, {BUCKET} AS b FROM "check") t GROUP BY outcome, b""",
        """INSERT INTO row_tally (name, n) SELECT 'change', count(*) FROM change WHERE true
           ON CONFLICT (name) DO UPDATE SET n = excluded.n""",
        """INSERT INTO row_tally (name, n) SELECT 'snapshot', count(*) FROM snapshot WHERE true
           ON CONFLICT (name) DO UPDATE SET n = excluded.n""",
    ]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def time_get(port, path, reps):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    times, size, status = [], 0, None
    for k in range(reps + 1):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        dt = time.perf_counter() - t
        status, size = r.status, len(body)
        if k:
            times.append(dt * 1000)
    c.close()
    return {"path": path, "status": status, "bytes": size, "median_ms": round(statistics.median(times), 2),
            "min_ms": round(min(times), 2), "max_ms": round(max(times), 2), "reps": reps}


def metrics(a):
    backend = "postgres" if a.db.startswith("postgres") else "sqlite"
    work = os.path.join(OUT, f"metrics-{backend}")
    if not a.reuse:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    run.OUT = work
    db = open_db(a, work)
    toml = os.path.join(work, "sources.toml")
    env = dict(os.environ)
    env.pop("CAPWATCH_DB", None)
    res = {"part": "metrics", "backend": backend, "sources": a.sources,
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    if not a.reuse:
        db.reset()
        pages_dir = ensure_pages("small", a.sources)
        server = run.PageServer(pages_dir, work)
        try:
            with open(toml, "w") as f:
                f.write(registry(server.base, a.sources, db.url, True))
            subprocess.run([CAPWATCH, "--config", toml, "check"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "check.log"), "w"))
        finally:
            server.stop()
        day0 = int(time.time() * 1000) - 366 * 86_400_000
        t = time.monotonic()
        if backend == "postgres":
            for q in fill_sql(lambda g, lo, hi: f"generate_series({lo}, {hi}) AS {g}(x)", day0):
                db.sql(q)
            db.sql("VACUUM ANALYZE")
        else:
            c = sqlite3.connect(db.path, timeout=60)
            for q in fill_sql(lambda g, lo, hi: f"(WITH RECURSIVE r(x) AS (SELECT {lo} UNION ALL SELECT x + 1 "
                                                f"FROM r WHERE x < {hi}) SELECT x FROM r) AS {g}", day0):
                c.execute(q)
            c.commit()
            c.execute("ANALYZE")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
        res["fill_s"] = round(time.monotonic() - t, 1)
    res["rows"] = db.counts()
    res["db_bytes"] = db.size()
    log(f"{backend}: {res['rows']}, {res['db_bytes'] / 1e6:.0f} MB")
    port = free_port()
    srv = subprocess.Popen([CAPWATCH, "--config", toml, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or srv.poll() is not None:
                    raise RuntimeError("capwatch serve did not start; see " + work + "/serve.log")
                time.sleep(0.2)
        res["requests"] = [time_get(port, p, a.reps) for p in
                           ("/metrics", "/api/v1/capabilities", "/api/v1/capabilities/page-00000/history")]
        res["serve_cpu_s"] = run.cpu_s(srv.pid)
        res["serve_hwm_mb"] = round((run.vm_kb(srv.pid, "VmHWM") or 0) / 1024, 1)
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(30)
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    record(res)


# ----------------------------------------------------------------------------- table


def table(a):
    rows = [json.loads(x) for x in open(RESULTS)] if os.path.exists(RESULTS) else []
    print("| command | cycle | backend | daemons | pages | N | complete | wall s | daemon CPU s | ms/page | PG CPU s | PG ms/page "
          "| page server CPU s | our CPU ÷ wall | machine busy ÷ wall | DB MB | bytes/source | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["part"] != "cycle":
            continue
        cyc = "second (all 304)" if r.get("seed") == "check" else "first"
        print(f"| {r.get('mode', 'run')} | {cyc} | {r['backend']} | {r['daemons']} | {r['pages']} | {r['n']} | {r['checked']}/{r['n']} | "
              f"{r['wall_s']} | {' + '.join(str(c) for c in r['daemon_cpu_s'])} | {r['daemon_cpu_ms_per_page']} | "
              f"{r['pg_cpu_s'] if r['backend'] == 'postgres' else '—'} | "
              f"{r['pg_cpu_ms_per_page'] if r['backend'] == 'postgres' else '—'} | {r['server_cpu_s']} | "
              f"{r['our_cores_busy']} | {r['machine_cores_busy']} | {r['db_bytes_after_stop'] / 1e6:.1f} | "
              f"{r['bytes_per_source']} | {r['loadavg_start'][0]}→{r['loadavg_end'][0]} |")
    print()
    print("| backend | rows (check / snapshot / change) | DB MB | endpoint | median ms | min | max | bytes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["part"] != "metrics":
            continue
        for q in r.get("requests", []):
            print(f"| {r['backend']} | {r['rows']['check']:,} / {r['rows']['snapshot']:,} / {r['rows']['change']:,} | "
                  f"{r['db_bytes'] / 1e6:.0f} | `{q['path']}` | {q['median_ms']} | {q['min_ms']} | {q['max_ms']} | "
                  f"{q['bytes']:,} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cycle")
    c.add_argument("--db", required=True, help="'sqlite' (a file in the work dir) or a postgres:// URL")
    c.add_argument("--n", type=int, default=5000)
    c.add_argument("--pages", choices=("big", "small"), default="big")
    c.add_argument("--daemons", type=int, default=1)
    c.add_argument("--mode", choices=("run", "check"), default="run",
                   help="run: K daemons until every source has a check row; check: one `capwatch check` "
                        "(one evaluation at the end) until it exits")
    c.add_argument("--poll", type=float, default=0.5)
    c.add_argument("--seed", choices=("status", "check"), default="status",
                   help="status: load the registry only (the daemons' cycle is the first); check: a first "
                        "`capwatch check` first, then every source due again (the daemons' cycle is all 304)")
    c.add_argument("--timeout", type=float, default=3600)
    c.add_argument("--pgdata", default="/tmp/pgb/data")
    c.set_defaults(fn=cycle)
    m = sub.add_parser("metrics")
    m.add_argument("--db", required=True)
    m.add_argument("--sources", type=int, default=1000)
    m.add_argument("--reps", type=int, default=20)
    m.add_argument("--reuse", action="store_true", help="time the requests on the database filled earlier")
    m.add_argument("--pgdata", default="/tmp/pgb/data")
    m.set_defaults(fn=metrics)
    t = sub.add_parser("table")
    t.set_defaults(fn=table)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
