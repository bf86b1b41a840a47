#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A file server for the remote-source fault tests, on loopback only.

    faultserve.py ROOT PORTFILE CONTROL LOG

Serves ROOT over HTTP/1.1 (keep-alive, Range) on 127.0.0.1, on a free port it
writes to PORTFILE. Before every request it reads the mode from the file
CONTROL (a missing file is "ok"):

  ok            serve as a web server does: 206 for a Range, 200 otherwise
  norange       ignore Range: 200 with the whole file
  status:N      answer HTTP N (500, 503, 404, ...) with a short body
  flaky:K       503 for the first K-1 requests of each (path, range), then
                good answers (per request, not a global count: with
                requests in parallel that would starve some of them)
  truncate      promise the range, send half of it, close the connection
  flip          the right headers, one byte of the body wrong
  extra         a 206 with one byte more than asked for
  stall         accept the request and never answer
  slow:BPS      the right bytes at BPS bytes a second
  bearer[:U:P]  a registry's token auth: 401 with a Bearer challenge unless
                the request has the current token, which /token hands out
                (to basic auth U:P only, if given)
  rotate        bearer, the token changing every 50 requests (expiry)
  redirect-realm  a hostile pair of hosts on one port: requests to host
                127.0.0.1 are redirected to host localhost, which answers
                with a Bearer challenge whose realm is its own /token (the
                token is handed out to anyone)

Every request is logged to LOG as "METHOD PATH RANGE STATUS BYTES HOST AUTH",
AUTH the scheme of its Authorization header ("-": none).
"""
import base64
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time

ROOT, PORTFILE, CONTROL, LOG = sys.argv[1:5]
lock = threading.Lock()
count = [0]
generation = [1]
seen = {}


def mode():
    try:
        with open(CONTROL) as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log(self, rng, status, nbytes):
        with lock, open(LOG, "a") as f:
            auth = (self.headers.get("Authorization") or "-").split(" ")[0]
            host = self.headers.get("Host") or "-"
            f.write(f"{self.command} {self.path} {rng or '-'} {status} {nbytes} {host} {auth}\n")

    def plain(self, status, body=b"no\n"):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log(self.headers.get("Range"), status, len(body))

    def challenge(self, rng, params):
        """A registry's 401 with a Bearer challenge of @params."""
        body = b"token please\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", "Bearer " + params)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.log(rng, 401, len(body))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        m = mode()
        with lock:
            count[0] += 1
            n = count[0]
        rng = self.headers.get("Range")
        if m == "stall":
            time.sleep(3600)
            return
        if m.startswith("status:"):
            return self.plain(int(m.split(":")[1]))
        if m.startswith("flaky:"):
            with lock:
                key = (self.path, rng)
                seen[key] = seen.get(key, 0) + 1
                tries = seen[key]
            if tries < int(m.split(":")[1]):
                return self.plain(503)
        if m == "redirect-realm":
            host = (self.headers.get("Host") or "").split(":")[0]
            if host == "127.0.0.1":
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{PORT}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return self.log(rng, 302, 0)
            if self.path.startswith("/token?"):
                return self.plain(200, json.dumps({"token": "stolen"}).encode())
            if self.headers.get("Authorization") != "Bearer stolen":
                return self.challenge(rng, f'realm="http://localhost:{PORT}/token",'
                                      'service="modelfs-test"')
        if m.startswith("bearer") or m == "rotate":
            if self.path.startswith("/token?"):
                want = m.split(":", 1)[1] if m.startswith("bearer:") else None
                got = self.headers.get("Authorization", "")
                if want and got != "Basic " + base64.b64encode(want.encode()).decode():
                    return self.plain(401)
                if "service=modelfs-test" not in self.path:
                    return self.plain(400)
                return self.plain(200, json.dumps({"token": f"tok-{generation[0]}"}).encode())
            if m == "rotate" and n % 50 == 0:
                generation[0] += 1
            if self.headers.get("Authorization") != f"Bearer tok-{generation[0]}":
                return self.challenge(rng, f'realm="http://127.0.0.1:{PORT}/token",'
                                      'service="modelfs-test",scope="repository:models:pull,push"')
        path = os.path.join(ROOT, self.path.lstrip("/").split("?")[0])
        if ".." in self.path or not os.path.isfile(path):
            return self.plain(404)
        with open(path, "rb") as f:
            data = f.read()
        start, end, status = 0, len(data) - 1, 200
        r = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if r and m != "norange":
            start = int(r.group(1))
            end = min(int(r.group(2)) if r.group(2) else len(data) - 1, len(data) - 1)
            if start >= len(data):
                return self.plain(416)
            status = 206
        body = data[start:end + 1]
        if m == "extra" and status == 206:
            body = data[start:end + 2]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command == "HEAD":
            return self.log(rng, status, 0)
        if m == "flip" and body:
            b = bytearray(body)
            b[len(b) // 2] ^= 0x20
            body = bytes(b)
        if m == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.log(rng, status, len(body) // 2)
            return
        if m.startswith("slow:"):
            bps = int(m.split(":")[1])
            piece = max(1, bps // 10)
            for i in range(0, len(body), piece):
                self.wfile.write(body[i:i + piece])
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.wfile.write(body)
        self.log(rng, status, len(body))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (timeouts, a killed daemon) are expected here


srv = Server(("127.0.0.1", 0), Handler)
PORT = srv.server_address[1]
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
