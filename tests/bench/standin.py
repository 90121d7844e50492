"""A light VCC stand-in for the benchmarks: the Payment API contract our client speaks
(docs/vcc-payment-api.md, sections 2 and 3, as payments/vcc/sandbox/api.py serves it) and VCC's
webhook with an OAuth token (as payments/vcc/sandbox/webhooks.py sends it), in memory, in one
asyncio process on the standard library, so that a benchmark measures our cost, not VCC's.

    python -m tests.bench.standin --port 8123 [--delay-ms 80] [--webhook-url URL]

VCC's side, as our client sees it:
    POST /Auth/connect/token          client credentials -> bearer token with expires_in
    POST /api/v1/session              -> sessionGuid, iframeUrl, agentAccessToken, ...
    POST /api/v1/digitalsession       -> the same, plus paymentLink
    GET  /api/v1/session/{guid}       -> the session; 404 once its result's retention ended
                                         (a digital session's link lives 72 hours, as VCC's
                                         does: live until then, 404 a retention after it)
Webhooks: when a session finishes, a bearer token from our token URL (client credentials),
then a POST of the GET body to our webhook URL, retried until it answers 200.

The bench's control interface (not VCC's):
    POST /control/sessions/{guid}/outcome   {"outcome": "approved" | "declined" | "hangup"}
    GET  /control/sessions                  {guid: finished_on (epoch seconds) or null}
    GET  /control/stats                     counts of the calls above and of webhooks
    POST /control/knobs                     {"webhooks", "delay_ms", "retention_seconds"}
    POST /control/reset                     forget every session, zero the counts
    POST /control/stats/reset               zero the counts, keep the sessions

The test cards and the keypad stay in the Django sandbox; here an outcome is set directly.
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CLIENT_ID = "bench-vcc-client"
CLIENT_SECRET = "bench-vcc-secret"
SCOPE = "globalpci"
TOKEN_LIFETIME_SECONDS = 3600
RETENTION_SECONDS = 900.0
# [doc] How long the caller may pay with a digital session's link.
LINK_LIFETIME_SECONDS = 72 * 3600.0
# VCC retries "every few minutes"; a benchmark cannot wait that long.
WEBHOOK_RETRY_SECONDS = 1.0
WEBHOOK_GIVE_UP_SECONDS = 600.0
# Connections the webhook sender keeps open to our web server at once.
WEBHOOK_CONNECTIONS = 16
DECISIONS = {
    "approved": ("ACCEPT", "100"),
    "declined": ("REJECT", "481"),
}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def iso(moment: float) -> str:
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def minor_units(amount: str) -> str | None:
    """Major units as sent in paymentData ("12.40") to minor units ("1240"), 2 decimals."""
    try:
        return str(int(Decimal(amount) * 100))
    except (InvalidOperation, ValueError):
        return None


@dataclass
class Session:
    guid: str
    payment_data: dict[str, Any]
    created_on: float = field(default_factory=time.time)
    last_updated_on: float = field(default_factory=time.time)
    finished_on: float | None = None
    result: dict[str, Any] | None = None
    call_guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    link_ends_on: float | None = None  # a digital session's link's end; None on the phone
    # The GET answer, encoded once per change: a read costs a lookup, not a JSON encoding.
    encoded: bytes = b""

    def answer(self) -> bytes:
        if not self.encoded:
            self.encoded = json.dumps(self.body()).encode()
        return self.encoded

    @property
    def live_state(self) -> str:
        """An unopened link is `Created` (as the sandbox answers), a phone session `InProgress`."""
        return "InProgress" if self.link_ends_on is None else "Created"

    def gone(self, now: float, retention: float) -> bool:
        """Whether GET answers 404: a retention after the result, or after an unused link ended."""
        ended = self.finished_on if self.finished_on is not None else self.link_ends_on
        return ended is not None and now > ended + retention

    def body(self) -> dict[str, Any]:
        """The GET answer, which is also the webhook's body."""
        return {
            "sessionGuid": self.guid,
            "callGuid": self.call_guid,
            "providerSessionGuid": self.call_guid,
            "createdOn": iso(self.created_on),
            "lastUpdatedOn": iso(self.last_updated_on),
            "sessionState": "Finished" if self.finished_on is not None else self.live_state,
            "paymentResultData": self.result,
        }


class StandIn:
    def __init__(self, *, port: int, delay_ms: float, webhook_url: str, token_url: str) -> None:
        self.port = port
        self.delay = delay_ms / 1000
        self.webhook_url = webhook_url
        self.token_url = token_url
        self.webhook_client_id = os.environ.get("WEBHOOK_CLIENT_ID", "builtin-webhook-client")
        self.webhook_client_secret = os.environ.get(
            "WEBHOOK_CLIENT_SECRET", "builtin-webhook-secret"
        )
        self.webhooks = True
        self.retention = RETENTION_SECONDS
        self.tokens: dict[str, float] = {}
        self.reset()
        self._our_token: tuple[str, float] | None = None
        self._sending: asyncio.Semaphore | None = None

    def reset(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = dict.fromkeys(
            (
                "token_requests",
                "create_requests",
                "session_gets",
                "session_gets_not_found",
                "webhook_attempts",
                "webhooks_delivered",
                "webhook_token_requests",
            ),
            0,
        )

    # --- HTTP ----------------------------------------------------------------------------

    async def serve(self) -> None:
        self._sending = asyncio.Semaphore(WEBHOOK_CONNECTIONS)
        server = await asyncio.start_server(self.connection, "127.0.0.1", self.port, backlog=1024)
        print(f"standin: listening on http://127.0.0.1:{self.port}", flush=True)
        async with server:
            await server.serve_forever()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                status, answer = await self.route(method, target, headers, body)
                writer.write(response_bytes(status, answer))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | bytes]:
        path = urlsplit(target).path
        if path.startswith("/control/"):
            return self.control(method, path.removeprefix("/control/"), body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if method == "POST" and path == "/Auth/connect/token":
            return self.token(headers, body)
        if not self.authorised(headers):
            return 401, {"message": "Unauthorized"}
        if method == "POST" and path in ("/api/v1/session", "/api/v1/digitalsession"):
            return self.create(body, digital=path.endswith("digitalsession"))
        if method == "GET" and path.startswith("/api/v1/session/"):
            return self.read(unquote(path.removeprefix("/api/v1/session/")))
        return 404, {"message": "Not found."}

    # --- VCC's side ----------------------------------------------------------------------

    def token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.stats["token_requests"] += 1
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        scheme, _, value = headers.get("authorization", "").partition(" ")
        basic = scheme.lower() == "basic"
        if basic:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return (401 if basic else 400), {"error": "invalid_client"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if SCOPE not in form.get("scope", "").split():
            return 400, {"error": "invalid_scope"}
        issued = secrets.token_urlsafe(24)
        self.tokens[issued] = time.monotonic() + TOKEN_LIFETIME_SECONDS
        return 200, {
            "access_token": issued,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "token_type": "Bearer",
            "scope": SCOPE,
        }

    def authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > time.monotonic()

    def create(self, body: bytes, *, digital: bool) -> tuple[int, dict[str, Any]]:
        self.stats["create_requests"] += 1
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return 400, {"message": "The request body is not valid JSON."}
        if not isinstance(data, dict) or not isinstance(data.get("paymentData"), dict):
            return 400, {"message": "paymentData is required and must be an object."}
        if not str(data.get("agentId") or ""):
            return 400, {"message": "agentId is required."}
        session = Session(str(uuid.uuid4()), data["paymentData"])
        if digital:
            session.link_ends_on = session.created_on + LINK_LIFETIME_SECONDS
        self.sessions[session.guid] = session
        answer = {
            "sessionGuid": session.guid,
            "iframeUrl": f"http://127.0.0.1:{self.port}/view/{uuid.uuid4()}/framed",
            "agentAccessToken": secrets.token_urlsafe(16),
            "agentRefreshToken": secrets.token_urlsafe(16),
        }
        if digital:
            answer["paymentLink"] = f"http://127.0.0.1:{self.port}/pay/{session.guid}"
        return 200, answer

    def read(self, guid: str) -> tuple[int, dict[str, Any] | bytes]:
        self.stats["session_gets"] += 1
        session = self.sessions.get(guid)
        if session is None or session.gone(time.time(), self.retention):
            self.stats["session_gets_not_found"] += 1
            return 404, {"message": "Session not found."}
        return 200, session.answer()

    # --- The control interface -----------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        data = json.loads(body) if body else {}
        if method == "GET" and path == "stats":
            return 200, {**self.stats, "sessions": len(self.sessions)}
        if method == "GET" and path == "sessions":
            return 200, {guid: s.finished_on for guid, s in self.sessions.items()}
        if method == "POST" and path == "reset":
            self.reset()
            return 200, {"reset": True}
        if method == "POST" and path == "stats/reset":
            self.reset_stats()
            return 200, {"reset": True, "sessions": len(self.sessions)}
        if method == "POST" and path == "knobs":
            self.webhooks = bool(data.get("webhooks", self.webhooks))
            self.delay = float(data.get("delay_ms", self.delay * 1000)) / 1000
            self.retention = float(data.get("retention_seconds", self.retention))
            knobs = {"webhooks": self.webhooks, "delay_ms": self.delay * 1000}
            return 200, {**knobs, "retention_seconds": self.retention}
        if method == "POST" and path.startswith("sessions/") and path.endswith("/outcome"):
            return self.finish(path.split("/")[1], str(data.get("outcome", "")))
        return 404, {"message": "Not found."}

    def finish(self, guid: str, outcome: str) -> tuple[int, dict[str, Any]]:
        session = self.sessions.get(guid)
        if session is None:
            return 404, {"message": "Session not found."}
        if session.finished_on is not None:
            return 409, {"message": "The session has already finished."}
        if outcome not in (*DECISIONS, "hangup"):
            return 400, {"message": "outcome must be approved, declined or hangup."}
        session.finished_on = session.last_updated_on = time.time()
        session.encoded = b""
        if outcome in DECISIONS:
            decision, reason = DECISIONS[outcome]
            data = {k: v for k, v in session.payment_data.items() if k.lower() != "amount"}
            amount = next(
                (str(v) for k, v in session.payment_data.items() if k.lower() == "amount"), ""
            )
            session.result = {
                **data,
                "decision": decision,
                "reasonCode": reason,
                "requestID": secrets.token_hex(11),
                "Amount": minor_units(amount),
            }
        if self.webhooks:
            asyncio.get_running_loop().create_task(self.deliver(session.answer()))
        return 200, {"sessionGuid": guid, "finished_on": session.finished_on}

    # --- Webhooks ------------------------------------------------------------------------

    async def deliver(self, payload: bytes) -> None:
        """POST the session to our webhook until it answers 200 or the give-up time passes."""
        assert self._sending is not None
        started = time.monotonic()
        while time.monotonic() - started < WEBHOOK_GIVE_UP_SECONDS:
            async with self._sending:
                self.stats["webhook_attempts"] += 1
                try:
                    token = await self.our_token()
                    status, _ = await post(
                        self.webhook_url,
                        payload,
                        "application/json",
                        {"Authorization": f"Bearer {token}"},
                    )
                except (OSError, ValueError, asyncio.IncompleteReadError):
                    status = 0
            if status == 200:
                self.stats["webhooks_delivered"] += 1
                return
            if status == 401:
                self._our_token = None
            await asyncio.sleep(WEBHOOK_RETRY_SECONDS)

    async def our_token(self) -> str:
        """A bearer token from our webhook token URL, reused until shortly before it ends."""
        if self._our_token is not None and self._our_token[1] > time.monotonic():
            return self._our_token[0]
        self.stats["webhook_token_requests"] += 1
        form = (
            f"grant_type=client_credentials&client_id={self.webhook_client_id}"
            f"&client_secret={self.webhook_client_secret}"
        )
        status, answer = await post(
            self.token_url, form.encode(), "application/x-www-form-urlencoded", {}
        )
        if status != 200:
            raise ValueError(f"our token endpoint answered {status}")
        expires_in = float(answer.get("expires_in", 300))
        self._our_token = (
            str(answer["access_token"]),
            time.monotonic() + max(expires_in - 30, expires_in / 2),
        )
        return self._our_token[0]


# --- HTTP/1.1, the little of it both sides use ---------------------------------------------


async def read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    head = await read_head(reader)
    if head is None:
        return None
    request_line, headers = head
    method, target, _ = request_line.split(" ", 2)
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    first, *lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return first, headers


def response_bytes(status: int, answer: dict[str, Any] | bytes) -> bytes:
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def post(
    url: str, body: bytes, content_type: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """One POST on its own connection; the status and the JSON answer (or {})."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 80), timeout=3.05
    )
    try:
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(
            (
                f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n{extra}\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10.0)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        answer = json.loads(payload) if payload else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer delay (e.g. 80)")
    parser.add_argument(
        "--webhook-url",
        default="http://127.0.0.1:8000/payments/webhook/vcc",
        help="our webhook; the token URL is beside it (/payments/webhook/token)",
    )
    options = parser.parse_args()
    token_url = options.webhook_url.rsplit("/", 1)[0] + "/token"
    standin = StandIn(
        port=options.port,
        delay_ms=options.delay_ms,
        webhook_url=options.webhook_url,
        token_url=token_url,
    )
    asyncio.run(standin.serve())


if __name__ == "__main__":
    main()
