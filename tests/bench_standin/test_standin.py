"""tests/bench/standin.py, the benchmarks' light VCC stand-in, held to the contract: our real
VccClient gets a token from it, opens sessions, reads a finished result and the 404 after
retention, over real HTTP; its webhook (with a bearer token from our token endpoint) reaches
our webhook on the Django live server and is stored, retried until we answer 200."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from payments.models import WebhookDelivery
from payments.vcc.accounts import TOKEN_PATH, VccAccount
from payments.vcc.client import VccClient, vcc_breaker
from payments.vcc.errors import VccCredentialsError, VccSessionNotFound
from tests.bench import standin
from tests.realparts import ROOT, free_port, wait_for

PAYMENT_DATA = {"FirstName": "Priya", "Amount": "12.40", "Currency": "GBP"}


class StandIn:
    def __init__(self, url: str) -> None:
        self.url = url

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, f"{self.url}/control/{path}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def account(self, secret: str = standin.CLIENT_SECRET) -> VccAccount:
        return VccAccount(
            "bench", self.url + TOKEN_PATH, self.url + "/api", standin.CLIENT_ID, secret
        )


@pytest.fixture
def stand_in(live_server: LiveServer) -> Iterator[StandIn]:
    port = free_port()
    webhook_url = live_server.url + "/payments/webhook/vcc"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.standin",
            "--port",
            str(port),
            "--webhook-url",
            webhook_url,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    helper = StandIn(f"http://127.0.0.1:{port}")

    def answers() -> bool:
        try:
            return requests.get(helper.url + "/control/stats", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=15, what="the stand-in")
        yield helper
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def vcc(stand_in: StandIn) -> Iterator[VccClient]:
    client = VccClient(stand_in.account(), breaker=vcc_breaker(threshold=1000))
    yield client
    client.close()


def test_wrong_credentials_are_refused_as_vccs_are(stand_in: StandIn) -> None:
    client = VccClient(stand_in.account(secret="wrong"), breaker=vcc_breaker(threshold=1000))
    with pytest.raises(VccCredentialsError):
        client.token()


def test_our_client_opens_and_reads_a_session(stand_in: StandIn, vcc: VccClient) -> None:
    new = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA)
    assert new.session_guid and new.provider_url and new.agent_access_token
    status = vcc.get_session(new.session_guid)
    assert (status.session_guid, status.finished) == (new.session_guid, False)
    digital = vcc.create_digital_session(
        agent_id="1001", payment_data={**PAYMENT_DATA, "CustomerPhoneNumber": "+447700900123"}
    )
    assert digital.payment_link
    stats = stand_in.control("GET", "stats")
    assert (stats["token_requests"], stats["create_requests"], stats["session_gets"]) == (1, 2, 1)


@pytest.mark.parametrize(
    ("outcome", "decision", "amount"),
    [("approved", "ACCEPT", Decimal("12.40")), ("declined", "REJECT", Decimal("12.40"))],
)
def test_a_finished_result_reads_as_the_gateways_answer(
    stand_in: StandIn, vcc: VccClient, outcome: str, decision: str, amount: Decimal
) -> None:
    stand_in.control("POST", "knobs", {"webhooks": False})
    guid = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA).session_guid
    stand_in.control("POST", f"sessions/{guid}/outcome", {"outcome": outcome})
    status = vcc.get_session(guid, currency="GBP")
    assert status.finished and status.session_state == "Finished"
    assert status.result is not None
    assert (status.result.decision, status.result.amount) == (decision, amount)
    assert status.result.gateway_reference
    assert status.created_on is not None and status.last_updated_on is not None
    assert stand_in.control("GET", "sessions")[guid] is not None


def test_a_hangup_finishes_without_a_result(stand_in: StandIn, vcc: VccClient) -> None:
    stand_in.control("POST", "knobs", {"webhooks": False})
    guid = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA).session_guid
    stand_in.control("POST", f"sessions/{guid}/outcome", {"outcome": "hangup"})
    status = vcc.get_session(guid)
    assert status.finished and status.result is None


def test_the_result_is_gone_after_its_retention(stand_in: StandIn, vcc: VccClient) -> None:
    stand_in.control("POST", "knobs", {"webhooks": False, "retention_seconds": 0.2})
    guid = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA).session_guid
    stand_in.control("POST", f"sessions/{guid}/outcome", {"outcome": "approved"})
    time.sleep(0.4)
    with pytest.raises(VccSessionNotFound):
        vcc.get_session(guid, retry=False)


@pytest.mark.usefixtures("committed_db")
def test_a_finished_session_is_delivered_to_our_webhook_with_our_token(
    stand_in: StandIn, vcc: VccClient
) -> None:
    guid = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA).session_guid
    stand_in.control("POST", f"sessions/{guid}/outcome", {"outcome": "approved"})
    wait_for(
        lambda: WebhookDelivery.objects.filter(session_guid=guid).exists(),
        timeout=10,
        what="the webhook to arrive",
    )
    body = json.loads(WebhookDelivery.objects.get(session_guid=guid).body)
    assert body["sessionGuid"] == guid
    assert body["sessionState"] == "Finished"
    assert body["paymentResultData"]["Amount"] == "1240"
    wait_for(
        lambda: stand_in.control("GET", "stats")["webhooks_delivered"] == 1,
        timeout=10,
        what="the stand-in to see our 200",
    )
    assert stand_in.control("GET", "stats")["webhook_token_requests"] == 1


@pytest.mark.usefixtures("committed_db")
def test_a_refused_delivery_is_retried_until_our_webhook_answers_200(
    stand_in: StandIn, vcc: VccClient, settings: Settings
) -> None:
    secret = settings.WEBHOOK_CLIENT_SECRET
    settings.WEBHOOK_CLIENT_SECRET = "rotated"  # our token endpoint refuses the stand-in
    guid = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA).session_guid
    stand_in.control("POST", f"sessions/{guid}/outcome", {"outcome": "declined"})
    wait_for(
        lambda: stand_in.control("GET", "stats")["webhook_attempts"] >= 2,
        timeout=10,
        what="a retry",
    )
    assert not WebhookDelivery.objects.filter(session_guid=guid).exists()
    settings.WEBHOOK_CLIENT_SECRET = secret
    wait_for(
        lambda: stand_in.control("GET", "stats")["webhooks_delivered"] == 1,
        timeout=10,
        what="the delivery",
    )
    assert WebhookDelivery.objects.filter(session_guid=guid).count() == 1
