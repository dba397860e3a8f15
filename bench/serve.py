#!/usr/bin/env python3
"""Threaded HTTP/1.1 server for the benchmark pages, bound to 127.0.0.1 only.

Copied from the earlier side-by-side benchmark of urlwatch / webchanges /
changedetection.io (its `serve.py`); see bench/README.md.

  GET /docs/page-NNNNN.html   the page from --dir (re-read when its mtime/size changes,
                              so `gen_pages.py mutate` is visible without a restart)
  GET /__stats                JSON request counters;  /__stats?reset=1  returns then zeroes them
  GET /__health               "ok"

Conditional GET: strong ETag (sha1 of the bytes) + Last-Modified (file mtime).
If-None-Match is evaluated when present (RFC 9110 13.2.2), else If-Modified-Since.
gzip is applied when the client sends Accept-Encoding: gzip (precomputed once per page
version; ETag gets a "-gz" suffix; `--no-gzip` turns this off).

The chosen port is printed on stdout as `PORT <n>` and written to --port-file.
Counters are also dumped as JSON to --stats-file at exit (SIGTERM/SIGINT).
"""
import argparse
import email.utils
import gzip
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs


class PageCache:
    def __init__(self, root, use_gzip):
        self.root = root
        self.use_gzip = use_gzip
        self.lock = threading.Lock()
        self.entries = {}  # name -> (mtime_ns, size, body, etag, gz_body, last_modified_str, mtime_s)

    def get(self, name):
        path = os.path.join(self.root, name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        with self.lock:
            e = self.entries.get(name)
            if e and e[0] == st.st_mtime_ns and e[1] == st.st_size:
                return e
        with open(path, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:20]
        gz = gzip.compress(body, 6, mtime=0) if self.use_gzip else None
        mtime_s = int(st.st_mtime)
        e = (st.st_mtime_ns, st.st_size, body, etag, gz, email.utils.formatdate(mtime_s, usegmt=True), mtime_s)
        with self.lock:
            self.entries[name] = e
        return e


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.c = Counter()
        self.t0 = time.time()
        self.first = None
        self.last = None
        self.conns = 0
        self.ua = Counter()

    def snapshot(self):
        d = dict(self.c)
        d["connections"] = self.conns
        d["window_s"] = round(time.time() - self.t0, 3)
        d["first_to_last_request_s"] = round(self.last - self.first, 3) if self.first else None
        d["user_agents"] = dict(self.ua)
        return d


def make_handler(cache, stats):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bench-serve/1.0"

        def setup(self):
            super().setup()
            # Headers and body are separate writes; without TCP_NODELAY, Nagle's
            # algorithm holds the body until the client's delayed ACK (~40 ms) on
            # every reused keep-alive connection, which would make this server, not
            # the client under test, the bottleneck for clients that pool connections.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with stats.lock:
                stats.conns += 1

        def log_message(self, fmt, *args):  # keep stderr quiet; counters instead
            pass

        def _send(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            if code != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
            return len(body) if code != 304 and self.command != "HEAD" else 0

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            u = urlsplit(self.path)
            if u.path == "/__health":
                self._send(200, b"ok\n", [("Content-Type", "text/plain")])
                return
            if u.path == "/__stats":
                with stats.lock:
                    snap = stats.snapshot()
                    if parse_qs(u.query).get("reset") == ["1"]:
                        stats.reset()
                self._send(200, json.dumps(snap, indent=1).encode(), [("Content-Type", "application/json"),
                                                                       ("Cache-Control", "no-store")])
                return
            now = time.time()
            with stats.lock:
                stats.c["requests"] += 1
                stats.first = stats.first or now
                stats.last = now
                stats.ua[(self.headers.get("User-Agent") or "-")[:60]] += 1
                if self.headers.get("If-None-Match"):
                    stats.c["with_if_none_match"] += 1
                if self.headers.get("If-Modified-Since"):
                    stats.c["with_if_modified_since"] += 1
            name = u.path.rsplit("/", 1)[-1]
            e = cache.get(name) if u.path.startswith("/docs/page-") else None
            if e is None:
                n = self._send(404, b"not found\n", [("Content-Type", "text/plain")])
                with stats.lock:
                    stats.c["status_404"] += 1
                return
            _, _, body, etag, gz, lastmod, mtime_s = e
            ae = self.headers.get("Accept-Encoding", "")
            use_gz = gz is not None and "gzip" in ae
            tag = etag[:-1] + '-gz"' if use_gz else etag
            not_modified = False
            inm = self.headers.get("If-None-Match")
            if inm:
                tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
                not_modified = "*" in tags or etag in tags or (etag[:-1] + '-gz"') in tags
            else:
                ims = self.headers.get("If-Modified-Since")
                if ims:
                    try:
                        ims_t = email.utils.parsedate_to_datetime(ims).timestamp()
                        not_modified = mtime_s <= ims_t
                    except (TypeError, ValueError, IndexError, OverflowError):
                        pass
            hdrs = [("ETag", tag), ("Last-Modified", lastmod), ("Cache-Control", "max-age=0, must-revalidate"),
                    ("Vary", "Accept-Encoding")]
            if not_modified:
                self._send(304, b"", hdrs)
                with stats.lock:
                    stats.c["status_304"] += 1
                return
            hdrs.append(("Content-Type", "text/html; charset=utf-8"))
            if use_gz:
                hdrs.append(("Content-Encoding", "gzip"))
            n = self._send(200, gz if use_gz else body, hdrs)
            with stats.lock:
                stats.c["status_200"] += 1
                stats.c["bytes_sent"] += n
                if use_gz:
                    stats.c["gzip_responses"] += 1

    return H


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--port-file")
    ap.add_argument("--stats-file")
    ap.add_argument("--no-gzip", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=7200, help="exit by itself after this long")
    a = ap.parse_args()

    cache = PageCache(a.dir, not a.no_gzip)
    stats = Stats()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(cache, stats))
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(a.port_file + ".tmp", a.port_file)
    print(f"PORT {port}", flush=True)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(a.max_seconds, stop).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        if a.stats_file:
            with stats.lock:
                with open(a.stats_file, "w") as f:
                    json.dump(stats.snapshot(), f, indent=1)
        os._exit(0)  # the max-seconds timer thread must not keep us alive


if __name__ == "__main__":
    main()
