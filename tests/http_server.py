#!/usr/bin/env python3
"""A loopback HTTP server for tests/test_http.c (standard library only).

Binds 127.0.0.1 on a free port, prints the port on one line of stdout and
serves until killed. Routes:

  /plain                 200 "hello"
  /echo                  200 "METHOD x-test=V auth=V ctype=V len=N body=B"
                         ("-" for an absent header; B is the request body)
  /status/N              status N, body "status N"
  /redirect?to=U&code=C  C (default 302) with Location: U
  /chain/N               N > 0: 302 to /chain/N-1; N = 0: 200 "end of chain"
  /huge                  200, 20 MiB with Content-Length
  /huge-stream           200, 20 MiB without a length (closes the connection)
  /many-headers          200 with 1000 headers
  /slow?ms=N             sleeps N ms (default 10000), then 200 "slow"
  /count                 200, the number of requests served before, not
                         counting /count itself: proves a refused request
                         never reached the server
"""
import http.server
import sys
import threading
import time
import urllib.parse

HUGE = 20 << 20
CHUNK = b"x" * 65536

lock = threading.Lock()
served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        global served
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path == "/count":
            with lock:
                n = served
            return self.reply(200, str(n).encode())
        with lock:
            served += 1
        if path == "/plain":
            return self.reply(200, b"hello", [("Content-Type", "text/plain")])
        if path == "/echo":
            def h(name):
                return self.headers.get(name, "-")
            text = "%s x-test=%s auth=%s ctype=%s len=%d body=%s" % (
                self.command, h("x-test"), h("authorization"),
                h("content-type"), len(body), body.decode("latin-1"))
            return self.reply(200, text.encode("latin-1"))
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            return self.reply(code, ("status %d" % code).encode())
        if path == "/redirect":
            code = int(query.get("code", ["302"])[0])
            return self.reply(code, b"moved", [("Location", query["to"][0])])
        if path.startswith("/chain/"):
            n = int(path[len("/chain/"):])
            if n > 0:
                return self.reply(302, b"", [("Location", "/chain/%d" % (n - 1))])
            return self.reply(200, b"end of chain")
        if path in ("/huge", "/huge-stream"):
            self.send_response(200)
            if path == "/huge":
                self.send_header("Content-Length", str(HUGE))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                for _ in range(HUGE // len(CHUNK)):
                    self.wfile.write(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return None
        if path == "/many-headers":
            return self.reply(200, b"many", [("X-H%d" % i, "v" * 32)
                                             for i in range(1000)])
        if path == "/slow":
            time.sleep(int(query.get("ms", ["10000"])[0]) / 1000.0)
            return self.reply(200, b"slow")
        return self.reply(404, b"no such route")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (caps, timeouts) are expected


def main():
    server = Server(("127.0.0.1", 0), Handler)
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
