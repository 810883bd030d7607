"""A reverse proxy in front of Azurite that makes chosen tables fail, as a storage
account does when it is throttled: 503 with the Table service's ServerBusy error.

The product signs requests with Shared Key, whose signature covers the path but not the
host, so the proxy forwards requests unchanged and they still verify at Azurite.
"""

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers that belong to one connection and must not be forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class FaultProxy:
    """Forwards to `upstream` (Azurite's table endpoint) and fails writes to the tables
    in `failing_tables` while that set is not empty."""

    def __init__(self, upstream):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port
        self.account_path = parts.path.rstrip("/")
        self.failing_tables = set()
        self.failed_requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.forward(self)

            do_POST = do_PUT = do_DELETE = do_MERGE = do_PATCH = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def table_endpoint(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.account_path}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def is_failing(self, method, path):
        if method == "GET":
            return False
        table = path[len(self.account_path):].lstrip("/").split("(", 1)[0].split("?", 1)[0]
        return table in self.failing_tables

    def forward(self, handler):
        body = read_body(handler)
        if self.is_failing(handler.command, handler.path):
            self.failed_requests += 1
            payload = json.dumps({"odata.error": {"code": "ServerBusy", "message": {
                "lang": "en-US", "value": "The server is busy (injected by the test proxy)."}}}).encode()
            handler.send_response(503)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("x-ms-error-code", "ServerBusy")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return

        headers = {name: value for name, value in handler.headers.items()
                   if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        try:
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            handler.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        finally:
            connection.close()


def read_body(handler):
    """Read a request body sent with Content-Length or chunked (the host's HTTP client
    chunks request bodies); return None when there is none."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else None
