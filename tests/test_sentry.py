"""Sentry (agentdesk/sentry.py): off without SENTRY_DSN; with one, events reach the DSN's
server with no card number, provider token or secret in them (`scrub`, checked on its own and
on what a real process sends to a local stand-in for Sentry)."""

import gzip
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sentry_sdk
from sentry_sdk.types import Event

from agentdesk.sentry import FILTERED, scrub
from tests.realparts import ROOT, django_env, wait_for

CARD = "4111111111111111"


def test_sentry_is_off_without_a_dsn() -> None:
    assert not sentry_sdk.get_client().is_active()


def test_scrub_removes_secrets_tokens_and_card_numbers_and_keeps_the_rest() -> None:
    event: Event = {
        "message": f"caller read out {CARD}",
        "exception": {
            "values": [{"type": "VccError", "value": "refused Bearer eyJhbGciOi.abc-def_1"}]
        },
        "request": {
            "url": "https://desk.example.com/payments/webhook/vcc",
            "headers": {"Authorization": "Bearer eyJhbGciOi.abc", "User-Agent": "VCC"},
            "cookies": {"sessionid": "abc"},
            "data": {"X-BEARER-TOKEN": "page-token", "client_secret": "s3cret"},
            "query_string": "token=t0ken",
        },
        "extra": {"payment_id": 42, "session_guid": "6a1f", "client_secret": "s3cret"},
        "breadcrumbs": {"values": [{"message": "card 4111 1111 1111 1111 for payment 42"}]},
    }
    cleaned = scrub(event, {})
    text = repr(cleaned)
    for secret in (CARD, "4111 1111 1111 1111", "eyJhbGciOi", "page-token", "s3cret", "t0ken"):
        assert secret not in text
    assert cleaned["request"]["headers"] == {"Authorization": FILTERED, "User-Agent": "VCC"}
    assert cleaned["extra"]["payment_id"] == 42
    assert cleaned["extra"]["session_guid"] == "6a1f"
    assert "for payment 42" in text


@pytest.fixture
def sentry_stand_in() -> Iterator[tuple[str, list[bytes]]]:
    """A local HTTP server taking Sentry's envelopes: its DSN, and the bodies received."""
    received: list[bytes] = []

    class Envelopes(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"] or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Envelopes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()


def test_an_error_reaches_sentry_without_a_card_number_or_secret(
    sentry_stand_in: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    dsn, received = sentry_stand_in
    program = (
        "import django; django.setup(); import sentry_sdk\n"
        "sentry_sdk.set_extra('client_secret', 's3cret')\n"
        f"try:\n    raise ValueError('caller read out {CARD}, Bearer eyJhbGciOi.abc')\n"
        "except ValueError as error:\n    sentry_sdk.capture_exception(error)\n"
        "sentry_sdk.flush(5)\n"
    )
    env = django_env(SENTRY_DSN=dsn, VAR_DIR=str(tmp_path / "var"))
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    wait_for(lambda: received, timeout=10, what="an envelope")
    envelope = b"".join(received).decode(errors="replace")
    assert "ValueError" in envelope and "caller read out" in envelope
    for secret in (CARD, "eyJhbGciOi", "s3cret"):
        assert secret not in envelope
