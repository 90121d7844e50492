"""The sandbox's webhook sender (payments/vcc/sandbox/webhooks.py): when a session finishes it
gets a bearer token from SITE_URL/payments/webhook/token with our webhook client credentials,
POSTs the GET body to SITE_URL/payments/webhook/vcc, retries with backoff until a 200 or the
give-up time, never sends twice from two dispatchers, and sends nothing when switched off.

Our real webhook endpoints are not under test here: a small local HTTP server plays them and
records what arrives."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.db import connections
from pytest_django import Settings

from payments.vcc.client import VccClient, client_for
from payments.vcc.sandbox.webhooks import Dispatcher
from tests.sandbox_fixtures import Sandbox


@dataclass
class Receiver:
    """Our webhook endpoints as the sandbox sees them: scripted answers, recorded calls."""

    url: str = ""
    answers: list[int] = field(default_factory=list)  # statuses for the next webhook POSTs
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    delay: float = 0.0
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/payments/webhook/token":
                with state.lock:
                    state.token_requests.append(parse_qs(body.decode()))
                    state.issued += 1
                    token = f"webhook-token-{state.issued}"
                self.answer(200, {"access_token": token, "expires_in": 300})
                return
            time.sleep(state.delay)
            with state.lock:
                state.deliveries.append((self.headers["Authorization"], json.loads(body)))
                status = state.answers.pop(0) if state.answers else 200
            self.answer(status, {})

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.fixture
def finished(sandbox: Sandbox, settings: Settings, receiver: Receiver) -> Callable[..., str]:
    """Open a session on the sandbox, point the webhooks at the receiver, finish it."""
    vcc: VccClient = client_for("builtin")

    def finish(outcome: str = "approved") -> str:
        new = vcc.create_session(
            agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
        )
        settings.SITE_URL = receiver.url  # the webhook's target; the session is already open
        sandbox.complete(new.session_guid, outcome)
        return new.session_guid

    sandbox.knobs(webhook_retry_seconds=0.05)
    return finish


def delivery(sandbox: Sandbox, guid: str) -> dict[str, Any]:
    return next(w for w in sandbox.webhooks() if w["session_guid"] == guid)


def test_webhook_carries_the_get_body_with_a_bearer_token(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str], settings: Settings
) -> None:
    guid = finished("approved")
    wait_for(lambda: delivery(sandbox, guid)["status"] == "delivered")
    [(authorization, body)] = receiver.deliveries
    assert authorization == "Bearer webhook-token-1"
    assert [
        (r["grant_type"], r["client_id"], r["client_secret"]) for r in receiver.token_requests
    ] == [
        (
            ["client_credentials"],
            [settings.WEBHOOK_CLIENT_ID],
            [settings.WEBHOOK_CLIENT_SECRET],
        )
    ]
    assert body["sessionGuid"] == guid
    assert body["sessionState"] == "Finished"
    assert body["paymentResultData"]["decision"] == "ACCEPT"
    assert body["paymentResultData"]["Amount"] == "1240"
    assert sandbox.api_session(guid) == body  # the webhook's body is the GET's


def test_webhook_is_retried_until_it_gets_a_200(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str]
) -> None:
    receiver.answers = [500, 503, 404]
    guid = finished("declined")
    wait_for(lambda: delivery(sandbox, guid)["status"] == "delivered")
    seen = delivery(sandbox, guid)
    assert (seen["attempts"], seen["last_status"]) == (4, "200")
    assert len(receiver.deliveries) == 4
    assert sandbox.stats()["webhook_attempts"] == 4
    # One token served every attempt.
    assert len(receiver.token_requests) == 1


def test_webhook_gives_up_after_the_give_up_time(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str]
) -> None:
    sandbox.knobs(webhook_give_up_seconds=0.3)
    receiver.answers = [500] * 100
    guid = finished("error")
    wait_for(lambda: delivery(sandbox, guid)["status"] == "gave_up")
    attempts = delivery(sandbox, guid)["attempts"]
    assert 2 <= attempts < 10
    assert len(receiver.deliveries) == attempts


def test_webhooks_switched_off_are_not_sent(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str]
) -> None:
    sandbox.webhooks_off()
    guid = finished("approved")
    assert delivery(sandbox, guid)["status"] == "off"
    assert Dispatcher().deliver_due() is None  # nothing pending to send
    assert receiver.deliveries == []


def test_a_hang_up_is_delivered_without_a_result(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str]
) -> None:
    guid = finished("hangup")
    wait_for(lambda: delivery(sandbox, guid)["status"] == "delivered")
    [(_, body)] = receiver.deliveries
    assert (body["sessionState"], body["paymentResultData"]) == ("Finished", None)


def test_several_dispatchers_send_each_delivery_once(
    sandbox: Sandbox, receiver: Receiver, finished: Callable[..., str]
) -> None:
    """As if four more web processes woke at once: the conditional UPDATE lets one send."""
    receiver.delay = 0.3
    guids = [finished("approved") for _ in range(3)]

    def another_process() -> None:
        Dispatcher().deliver_due()
        connections.close_all()

    others = [threading.Thread(target=another_process) for _ in range(4)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(10)
    wait_for(lambda: all(delivery(sandbox, g)["status"] == "delivered" for g in guids))
    sent = [body["sessionGuid"] for _, body in receiver.deliveries]
    assert sorted(sent) == sorted(guids)
