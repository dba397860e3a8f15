#!/usr/bin/env python3
"""Soak: one `capwatch run` daemon for ≥ 30 minutes, its memory sampled, drawn as SVG (issue 16).

One daemon over N documentation pages (bench/pages.py, 60–125 KB each) served on 127.0.0.1
by examples/bench_serve.rs (started the way bench/run.py starts it), every source on a
one-minute cron (`* * * * *`). After a warm-up, a burst of changes every --burst-every
seconds: pages.py's `mutate` changes `<main>` of --fraction of the pages. Every --sample
seconds the daemon's VmRSS and VmHWM (/proc/PID/status) and CPU (utime + stime,
/proc/PID/stat) are appended to OUT/samples.jsonl, so a run cut short still leaves its
samples. At the end the daemon gets SIGTERM; its JSON log gives the checks per minute.

  # PostgreSQL (a database the run may empty first) and SQLite side by side, 35 minutes each
  python3 bench/soak.py --db postgres://capwatch@127.0.0.1:55440/soak --minutes 35 --out bench/out/soak-pg &
  python3 bench/soak.py --db sqlite --minutes 35 --out bench/out/soak-sqlite &
  wait
  # the chart from one or more runs (each series labelled by its backend)
  python3 bench/soak.py svg bench/out/soak-pg bench/out/soak-sqlite -o bench/soak-rss.svg

Binaries: $CARGO_TARGET_DIR/release/capwatch and .../examples/bench_serve (default
target/), built with `cargo build --release --locked --bin capwatch --example bench_serve`.
A PostgreSQL database given by URL is dropped and re-created first (`--keep-db` keeps it),
with `psql` on PATH.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pages  # noqa: E402
import run  # noqa: E402  (PageServer, capwatch_registry, cpu_s, vm_kb)

TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
CAPWATCH = os.path.join(TARGET, "release", "capwatch")
run.BENCH_SERVE = os.path.join(TARGET, "release", "examples", "bench_serve")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True, file=sys.stderr)


def psql(url, sql, db=None):
    u = urllib.parse.urlparse(url)
    args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", u.hostname, "-p", str(u.port or 5432),
            "-U", u.username or "postgres", "-d", db or u.path.lstrip("/"), "-c", sql]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def reset_pg(url):
    name = urllib.parse.urlparse(url).path.lstrip("/")
    psql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db="postgres")
    psql(url, f'CREATE DATABASE "{name}"', db="postgres")


def soak(a):
    out = os.path.abspath(a.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    pg = a.db.startswith("postgres")
    if pg and not a.keep_db:
        reset_pg(a.db)
    db = a.db if pg else os.path.join(out, "capwatch.db")
    pages_dir = os.path.join(out, "pages")
    gen = pages.generate(pages_dir, a.n, 1)
    log(f"generated {a.n} pages, mean {gen['mean_kb']} KB")
    run.OUT = out
    server = run.PageServer(pages_dir, out)
    meta = {"backend": "postgres" if pg else "sqlite", "n": a.n, "page_server": a.server, "schedule": a.schedule,
            "burst_every_s": a.burst_every, "first_burst_s": a.first_burst, "fraction": a.fraction,
            "sample_s": a.sample, "minutes": a.minutes, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg_start": open("/proc/loadavg").read().split()[:3], "pages": gen}
    try:
        server.warm(run.page_names(a.n))
        toml = os.path.join(out, "sources.toml")
        with open(toml, "w") as f:
            f.write(run.capwatch_registry(server.base, a.n, db, schedule=a.schedule))
        env = dict(os.environ, RUST_LOG="capwatch=info")
        env.pop("CAPWATCH_DB", None)
        errp = os.path.join(out, "daemon.log")
        samples_f = open(os.path.join(out, "samples.jsonl"), "w")
        seconds = a.minutes * 60
        with open(errp, "w") as err:
            t0 = time.monotonic()
            p = subprocess.Popen([*a.wrap.split(), CAPWATCH, "--config", toml, "--log-format", "json", "run"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=err)
            meta["pid"] = p.pid
            log(f"daemon pid {p.pid} on {meta['backend']}, {seconds} s")
            next_burst = a.first_burst
            next_sample = 0.0
            bursts = []
            while p.poll() is None:
                t = time.monotonic() - t0
                if t >= seconds:
                    break
                if t >= next_burst:
                    mut = pages.mutate(pages_dir, a.fraction)
                    bursts.append({"t_s": round(t, 1), "changed": mut["main_changed"]})
                    log(f"burst at {t:.0f} s: {mut['main_changed']} pages changed")
                    next_burst += a.burst_every
                if t >= next_sample:
                    s = {"t_s": round(t, 2), "rss_kb": run.vm_kb(p.pid), "hwm_kb": run.vm_kb(p.pid, "VmHWM"),
                         "anon_kb": run.vm_kb(p.pid, "RssAnon"), "cpu_s": run.cpu_s(p.pid),
                         "threads": run.vm_kb(p.pid, "Threads")}
                    samples_f.write(json.dumps(s) + "\n")
                    samples_f.flush()
                    next_sample += a.sample
                time.sleep(0.2)
            hwm = run.vm_kb(p.pid, "VmHWM")
            p.send_signal(signal.SIGTERM)
            _, status, ru = os.wait4(p.pid, 0)
        samples_f.close()
        st = server.stats()
    finally:
        server.stop()
    # Checks per minute from the daemon's log.
    per_min = {}
    errors = 0
    for line in open(errp):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        f = e.get("fields", {})
        if e.get("level") in ("ERROR", "WARN"):
            errors += 1
        if f.get("message") == "checked":
            ts = datetime.fromisoformat(e["timestamp"][:26].replace("Z", "")).strftime("%H:%M")
            d = per_min.setdefault(ts, [0, 0])
            d[0] += 1
            d[1] += 1 if f.get("changed") else 0
    meta.update({"bursts": bursts, "exit_status": os.waitstatus_to_exitcode(status),
                 "cpu_s": ru.ru_utime + ru.ru_stime, "hwm_kb_end": hwm, "checks_per_minute": per_min,
                 "log_warn_error_lines": errors, "server": st,
                 "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "loadavg_end": open("/proc/loadavg").read().split()[:3]})
    if pg:
        meta["db_bytes"] = int(psql(a.db, "SELECT pg_database_size(current_database())"))
        meta["check_rows"] = int(psql(a.db, 'SELECT count(*) FROM "check"'))
    else:
        meta["db_bytes"] = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
    json.dump(meta, open(os.path.join(out, "soak.json"), "w"), indent=1)
    log(f"done: {summary(out)}")


def load(out):
    meta = json.load(open(os.path.join(out, "soak.json"))) if os.path.exists(os.path.join(out, "soak.json")) else {}
    samples = [json.loads(x) for x in open(os.path.join(out, "samples.jsonl")) if x.strip()]
    if not meta.get("backend"):
        meta["backend"] = os.path.basename(out.rstrip("/"))
    return meta, samples


def summary(out, warm_s=300):
    """RSS after warm-up: first, min, max, last (MB), and the slope of a least-squares line."""
    meta, s = load(out)
    w = [x for x in s if x["t_s"] >= warm_s and x["rss_kb"]]
    if len(w) < 2:
        return {"backend": meta["backend"], "samples": len(s)}
    n = len(w)
    mx = sum(x["t_s"] for x in w) / n
    my = sum(x["rss_kb"] for x in w) / n
    slope = sum((x["t_s"] - mx) * (x["rss_kb"] - my) for x in w) / sum((x["t_s"] - mx) ** 2 for x in w)
    return {"backend": meta["backend"], "samples": len(s), "span_min": round(s[-1]["t_s"] / 60, 1),
            "rss_at_warm_mb": round(w[0]["rss_kb"] / 1024, 1), "rss_min_mb": round(min(x["rss_kb"] for x in w) / 1024, 1),
            "rss_max_mb": round(max(x["rss_kb"] for x in w) / 1024, 1), "rss_last_mb": round(w[-1]["rss_kb"] / 1024, 1),
            "hwm_last_mb": round(s[-1]["hwm_kb"] / 1024, 1),
            "slope_kb_per_10min": round(slope * 600, 1), "cpu_s": round(s[-1]["cpu_s"] or 0, 1),
            "bursts": len(meta.get("bursts", []))}


COLORS = {"postgres": ("#1f5fa8", "#7fa7d6"), "sqlite": ("#b8560b", "#e7a36b")}


def svg(outs, path, title):
    """Plain SVG: VmRSS (solid) and VmHWM (dashed) per run against minutes; bursts as ticks."""
    runs = [load(o) for o in outs]
    W, H, L, R, T, B = 900, 420, 70, 200, 50, 50
    tmax = max(s[-1]["t_s"] for _, s in runs) / 60
    vmax = max(max((x["hwm_kb"] or 0), (x["rss_kb"] or 0)) for _, s in runs for x in s) / 1024
    ymax = (int(vmax / 10) + 1) * 10
    xmax = max(5, (int(tmax / 5) + 1) * 5)
    pw, ph = W - L - R, H - T - B
    X = lambda m: L + pw * m / xmax  # noqa: E731
    Y = lambda mb: T + ph * (1 - mb / ymax)  # noqa: E731
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15" font-weight="bold">{title}</text>']
    for k in range(0, ymax + 1, 10):
        o.append(f'<line x1="{L}" x2="{L + pw}" y1="{Y(k):.1f}" y2="{Y(k):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 8}" y="{Y(k) + 4:.1f}" text-anchor="end">{k}</text>')
    for m in range(0, xmax + 1, 5):
        o.append(f'<line x1="{X(m):.1f}" x2="{X(m):.1f}" y1="{T}" y2="{T + ph}" stroke="#eee"/>')
        o.append(f'<text x="{X(m):.1f}" y="{T + ph + 18}" text-anchor="middle">{m}</text>')
    o.append(f'<text x="{L + pw / 2}" y="{H - 10}" text-anchor="middle">minutes since the daemon started</text>')
    o.append(f'<text transform="translate(18,{T + ph / 2}) rotate(-90)" text-anchor="middle">MB</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    ly = T + 10
    for i, (meta, s) in enumerate(runs):
        cur, peak = COLORS.get(meta["backend"], ("#333", "#999"))
        for key, color, dash, name in (("hwm_kb", peak, ' stroke-dasharray="6 4"', "VmHWM (peak)"),
                                       ("rss_kb", cur, "", "VmRSS")):
            pts = " ".join(f"{X(x['t_s'] / 60):.1f},{Y(x[key] / 1024):.1f}" for x in s if x.get(key))
            o.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>')
            o.append(f'<line x1="{L + pw + 12}" x2="{L + pw + 40}" y1="{ly}" y2="{ly}" stroke="{color}" '
                     f'stroke-width="2"{dash}/>')
            o.append(f'<text x="{L + pw + 46}" y="{ly + 4}">{meta["backend"]} {name}</text>')
            ly += 18
        for b in meta.get("bursts", []):
            x = X(b["t_s"] / 60)
            o.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{T + ph - 8 - 8 * i}" y2="{T + ph - 8 * i}" '
                     f'stroke="{cur}" stroke-width="2"/>')
    ly += 6
    for line in ("ticks at the bottom:", "a burst of changes", f"({runs[0][0].get('fraction', 0.15):.0%} of "
                 f"{runs[0][0].get('n', '?')} pages)", f"cron {runs[0][0].get('schedule', '')}",
                 f"sampled every {runs[0][0].get('sample_s', 5)} s"):
        o.append(f'<text x="{L + pw + 12}" y="{ly}" fill="#555">{line}</text>')
        ly += 16
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "svg":
        ap = argparse.ArgumentParser(prog="soak.py svg")
        ap.add_argument("outs", nargs="+")
        ap.add_argument("-o", default=os.path.join(HERE, "soak-rss.svg"))
        ap.add_argument("--title", default="capwatch run: memory over a soak (500 sources, one-minute cron)")
        a = ap.parse_args(sys.argv[2:])
        svg(a.outs, a.o, a.title)
        for o in a.outs:
            print(json.dumps(summary(o)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "summary":
        for o in sys.argv[2:]:
            print(json.dumps(summary(o)))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="'sqlite' (a file in --out) or a postgres:// URL")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--minutes", type=float, default=35)
    ap.add_argument("--schedule", default="* * * * *")
    ap.add_argument("--first-burst", type=float, default=240, help="seconds before the first burst")
    ap.add_argument("--burst-every", type=float, default=180)
    ap.add_argument("--fraction", type=float, default=0.15)
    ap.add_argument("--sample", type=float, default=5)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--wrap", default="", help="a command put before capwatch, e.g. "
                    "'valgrind --tool=massif --massif-out-file=OUT/massif.out' (RSS samples are then the wrapper's)")
    ap.add_argument("--server", choices=("rust", "python"), default="rust",
                    help="page server: examples/bench_serve.rs (default) or bench/serve.py")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    run.PageServer.kind = a.server
    soak(a)


if __name__ == "__main__":
    main()
