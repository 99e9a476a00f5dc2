"""A webhook receiver for Vigil's delivery tests, independent of Vigil's code.

Listens on 127.0.0.1 on a free port and prints the port on its first line of output. What it
answers depends on the path:
  /ok, /ok/NAME   200 (NAME tells subscribers apart)
  /fail/N        500 for the first N requests to this path, then 200
  /slow-down     429 with Retry-After: 3
  /gone          410
  /hang          answers nothing for 30 s
  /slow-flaky    waits 100 ms, then answers 500 to every third request and 200 to the others
Every request is recorded; GET /seen returns the records as JSON: path, the Vigil-Delivery-Id
header, whether Vigil-Signature verifies with Python's own hmac under the key in
$RECEIVER_KEY (None when the header is absent), the status answered, and the body.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = os.environ.get("RECEIVER_KEY", "").encode()
SEEN = []
COUNTS = {}
LOCK = threading.Lock()


def verifies(header, body):
    if header is None:
        return None
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac.new(KEY, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, headers=(), body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/seen":
            with LOCK:
                body = json.dumps(SEEN).encode()
            self.answer(200, [("Content-Type", "application/json")], body)
        else:
            self.answer(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            n = COUNTS[self.path]
        headers = []
        if self.path == "/ok" or self.path.startswith("/ok/"):
            status = 200
        elif self.path.startswith("/fail/"):
            status = 500 if n <= int(self.path.split("/")[2]) else 200
        elif self.path == "/slow-down":
            status, headers = 429, [("Retry-After", "3")]
        elif self.path == "/gone":
            status = 410
        elif self.path == "/hang":
            time.sleep(30)
            status = 200
        elif self.path == "/slow-flaky":
            time.sleep(0.1)
            status = 500 if n % 3 == 0 else 200
        else:
            status = 404
        with LOCK:
            SEEN.append({
                "path": self.path,
                "delivery_id": self.headers.get("Vigil-Delivery-Id"),
                "signature_ok": verifies(self.headers.get("Vigil-Signature"), body),
                "content_type": self.headers.get("Content-Type"),
                "status": status,
                "body": body.decode("utf-8", "replace"),
            })
        self.answer(status, headers)


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A deliverer killed mid-request resets its connection: expected in the kill tests.
        pass


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
