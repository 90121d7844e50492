"""A tiny JSON CRM on a real local HTTP server (a thread), for the HTTP CRM adapter's tests:
it speaks docs/crm.md and can be told to be slow, failing or unreadable."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "crm-test-token"


@dataclass
class CrmServer:
    url: str
    customers: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "ok"  # ok | slow | error | garbage
    delay: float = 0.0
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)

    def search(self, query: str) -> list[dict[str, Any]]:
        needle = query.casefold()
        return [c for c in self.customers if needle in json.dumps(c).casefold()]


@contextmanager
def running_crm(customers: list[dict[str, Any]] | None = None) -> Iterator[CrmServer]:
    state = CrmServer(url="", customers=list(customers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(
                (parts.path, parse_qs(parts.query), self.headers.get("Authorization", ""))
            )
            if state.mode == "slow":
                time.sleep(state.delay)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer(401, {"error": "unauthorized"})
            if state.mode == "error":
                return self.answer(500, {"error": "boom"})
            if state.mode == "garbage":
                return self.answer(200, None, raw=b"<html>oops</html>")
            if parts.path == "/customers":
                query = parse_qs(parts.query).get("q", [""])[0]
                return self.answer(200, {"customers": state.search(query)})
            if parts.path.startswith("/customers/"):
                wanted = unquote(parts.path.removeprefix("/customers/"))
                for customer in state.customers:
                    if str(customer.get("id", customer.get("customerId"))) == wanted:
                        return self.answer(200, customer)
            return self.answer(404, {"error": "not found"})

        def answer(self, status: int, body: object, raw: bytes | None = None) -> None:
            payload = raw if raw is not None else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as it should

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """The URL of a port nothing listens on (a CRM that is down)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"
