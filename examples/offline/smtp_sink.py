#!/usr/bin/env python3
"""A tiny SMTP server for the offline example: accepts every message and
writes it to DIR/NNN.eml. Not for anything but a demo on 127.0.0.1.

usage: smtp_sink.py PORT DIR
"""
import os
import socketserver
import sys

PORT = int(sys.argv[1])
OUT = sys.argv[2]
os.makedirs(OUT, exist_ok=True)


class Handler(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.say("220 localhost capwatch example sink")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip().upper()
            if cmd.startswith("EHLO"):
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif cmd.startswith("HELO") or cmd.startswith("MAIL") or cmd.startswith("RCPT") or cmd.startswith("RSET") or cmd.startswith("NOOP"):
                self.say("250 ok")
            elif cmd == "DATA":
                self.say("354 end with .")
                data = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data.append(l)
                n = len(os.listdir(OUT)) + 1
                with open(os.path.join(OUT, "%03d.eml" % n), "wb") as f:
                    f.write(b"".join(data))
                self.say("250 queued")
            elif cmd == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 not here")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", PORT), Handler) as s:
    s.serve_forever()
