#!/usr/bin/env python3
"""Peak memory of the browser during one rendered check cycle.

Serves N pages that JavaScript builds (each an empty <main> filled from a JSON
file, about 12 KB of text once rendered) from 127.0.0.1, writes a registry with
N `render = "browser"` sources, runs `capwatch check` once and samples, every
50 ms, every Chromium process below it: the sum of their RSS (shared pages
counted once per process, so an over-count) and of their PSS (shared pages
divided among the processes that share them: the honest total). Prints the
peaks. Standard library only; Linux (/proc).

    python3 bench/render_rss.py --binary target/debug/capwatch --pages 50 --tabs 2
"""

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def page_html(i):
    return f"""<!doctype html><html><head><title>Feature {i}</title></head><body>
<nav><a href="/">Docs</a></nav><main id="content"></main>
<script>
fetch('/data/{i}.json').then(r => r.json()).then(d => {{
  const main = document.getElementById('content');
  let html = '<h1>' + d.name + '</h1><p>' + d.name + ' ' + d.status + '</p>';
  for (const s of d.sections) html += '<h2>' + s.title + '</h2><p>' + s.body + '</p>';
  main.innerHTML = html;
}});
</script></body></html>"""


def page_json(i):
    sections = [
        {
            "title": f"Section {k}",
            "body": (f"Feature {i} keeps its settings per workspace; section {k} says how. " * 8),
        }
        for k in range(20)
    ]
    return json.dumps(
        {"name": f"Feature {i}", "status": "is in public preview.", "sections": sections}
    )


def write_site(root, n):
    os.makedirs(os.path.join(root, "data"))
    for i in range(n):
        with open(os.path.join(root, f"p{i}.html"), "w") as f:
            f.write(page_html(i))
        with open(os.path.join(root, "data", f"{i}.json"), "w") as f:
            f.write(page_json(i))


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root):
    handler = lambda *a, **k: Quiet(*a, directory=root, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def registry(port, n, tabs, browser):
    lines = ["[settings]", 'timeout = "30s"', "per_host = 8", f"browser_tabs = {tabs}"]
    if browser:
        lines.append(f'browser = "{browser}"')
    lines += [
        "",
        "[[guide]]",
        'id = "g"',
        'title = "Bench"',
        'validated_on = "2026-11-01"',
        'owners = ["owner@example.com"]',
        "",
    ]
    for i in range(n):
        lines += [
            "[[capability]]",
            f'id = "f{i}"',
            'guide = "g"',
            f'name = "Feature {i}"',
            'claim = { stage = "preview" }',
            "  [[capability.source]]",
            f'  url = "http://127.0.0.1:{port}/p{i}.html"',
            '  select = "main"',
            '  render = "browser"',
            "",
        ]
    return "\n".join(lines)


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def below(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/debug/capwatch")
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--tabs", type=int, default=2)
    ap.add_argument("--browser", default=None, help="settings.browser (default: PATH)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="capwatch-render-bench-")
    try:
        site = os.path.join(work, "site")
        write_site(site, args.pages)
        httpd = serve(site)
        reg = os.path.join(work, "sources.toml")
        with open(reg, "w") as f:
            f.write(registry(httpd.server_address[1], args.pages, args.tabs, args.browser))
        start = time.monotonic()
        proc = subprocess.Popen(
            [os.path.abspath(args.binary), "--config", reg, "check"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        peak_rss = peak_pss = peak_procs = peak_self = 0
        while proc.poll() is None:
            pids = [p for p in below(proc.pid)]
            rss = sum(kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
            pss = sum(kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            peak_rss = max(peak_rss, rss)
            peak_pss = max(peak_pss, pss)
            peak_procs = max(peak_procs, len(pids))
            peak_self = max(peak_self, kb(f"/proc/{proc.pid}/status", "VmRSS:"))
            time.sleep(0.05)
        out = proc.stdout.read()
        took = time.monotonic() - start
        summary = [l for l in out.splitlines() if l.startswith("checked ")]
        print(summary[0] if summary else out[-2000:])
        print(f"pages {args.pages}, browser_tabs {args.tabs}, wall {took:.1f} s")
        print(f"browser peak: {peak_procs} processes, RSS sum {peak_rss / 1024:.0f} MB, "
              f"PSS sum {peak_pss / 1024:.0f} MB")
        print(f"capwatch itself: peak RSS {peak_self / 1024:.0f} MB")
        httpd.shutdown()
        return 0 if proc.returncode == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
