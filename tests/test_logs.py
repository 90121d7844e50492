"""Logging (agentdesk/logs.py, agentdesk/shared/logcontext.py): the request id of a web
request (X-Request-ID, trusted only from our proxy) comes back in a response header and rides
into the tasks it enqueues; with LOG_FORMAT=json a full sandbox payment's lines, from the web
process and a real worker, parse as JSON, are joined by the desk click's request id from the
start to the order update, and hold no card number, provider token or secret."""

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import transaction
from django.test import Client
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer
from pythonjsonlogger.json import JsonFormatter

from agentdesk.shared.logcontext import ContextFilter, mask_card_numbers
from payments.models import Payment
from payments.vcc.accounts import BUILTIN_CLIENT_SECRET
from payments.vcc.sandbox.models import AccessToken
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.payments.test_results_live import (  # noqa: F401  (fixtures)
    broker,
    own_redis,
    this_test_database_url,
)
from tests.realparts import RedisServer, celery, django_env, wait_for
from tests.sandbox_fixtures import Sandbox

CARD = "4111111111111111"


def test_a_request_gets_a_request_id_in_its_response() -> None:
    response = Client().get("/login/")
    assert len(response["X-Request-ID"]) == 32


def test_a_request_id_from_outside_is_ignored_unless_our_proxy_is_trusted(
    settings: Settings,
) -> None:
    given = "edge-3f9c2a71-42"
    assert Client().get("/login/", HTTP_X_REQUEST_ID=given)["X-Request-ID"] != given
    settings.TRUST_REQUEST_ID_HEADER = True
    assert Client().get("/login/", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given
    forged = 'x" injected="1'
    assert Client().get("/login/", HTTP_X_REQUEST_ID=forged)["X-Request-ID"] != forged


def test_a_card_number_never_reaches_a_log_line() -> None:
    assert mask_card_numbers(f"caller said {CARD} exp 12/39") == (
        "caller said [card number removed] exp 12/39"
    )
    assert mask_card_numbers("4111 1111 1111 1111") == "[card number removed]"
    assert mask_card_numbers("order 1234567890123 paid") == "order 1234567890123 paid"


@pytest.fixture
def web_log() -> Iterator[io.StringIO]:
    """This process's log lines (the web side and the in-process sandbox), as LOG_FORMAT=json
    writes them."""
    options = dict(settings.LOGGING["formatters"]["json"])  # type: ignore[index]
    options.pop("()")
    fmt = options.pop("fmt")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter(fmt, **options))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every log line of `text`; each must be one JSON object (Celery's start-up banner,
    printed before logging starts, aside)."""
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


@pytest.mark.services
@pytest.mark.live
@pytest.mark.timeout(180)
def test_one_payment_is_followed_by_its_request_id_with_no_secret_in_any_line(
    sandbox: Sandbox,
    broker: RedisServer,  # noqa: F811
    live_server: LiveServer,
    tmp_path: Path,
    web_log: io.StringIO,
) -> None:
    worker = celery(
        "worker",
        "--beat",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        env=django_env(
            DATABASE_URL=this_test_database_url(),
            REDIS_URL=broker.url(),
            CELERY_BROKER_URL=broker.url(),
            SITE_URL=live_server.url,
            VAR_DIR=str(tmp_path / "var"),
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        ),
        log_dir=tmp_path,
    )
    try:
        worker.start(ready=" ready.")
        agent = builders.signed_in(builders.agent_user())
        order, flow = builders.order(), builders.flow()
        click = agent.post(f"/desk/orders/{order.pk}/start/", {"flow": flow.pk}, **WORKSPACE)
        assert click.status_code == 200
        request_id = click["X-Request-ID"]
        payment = Payment.objects.get(order=order)
        guid = payment.session_guid or ""
        page = SandboxSession.objects.get(guid=guid)
        provider_tokens = [page.agent_access_token, page.agent_refresh_token]
        requests.post(
            payment.provider_url,
            data={"X-BEARER-TOKEN": provider_tokens[0], "X-REFRESH-TOKEN": provider_tokens[1]},
            timeout=5,
        )
        sandbox.press(guid, f"{CARD}#1239#123#")
        submitted = requests.post(
            payment.provider_url.replace("/framed", "/submit"),
            data={"X-BEARER-TOKEN": provider_tokens[0]},
            timeout=5,
        )
        assert submitted.status_code == 200
        wait_for(
            lambda: Payment.objects.get(pk=payment.pk).state == Payment.State.APPROVED,
            timeout=30,
            what="the payment to be approved",
        )
        wait_for(lambda: "-> approved" in worker.log(), timeout=10, what="the worker's line")
    finally:
        worker.stop()

    web, work = json_lines(web_log.getvalue()), json_lines(worker.log())
    assert any(" ready." in line["message"] for line in work)  # the worker logs as JSON
    for line in web + work:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    about = [line for line in web + work if line.get("payment_id") == payment.pk]
    started = [line for line in about if "starting -> in_progress" in line["message"]]
    approved = [line for line in about if "in_progress -> approved" in line["message"]]
    assert started and approved, about
    assert {line["request_id"] for line in started + approved} == {request_id}
    assert {line["session_guid"] for line in started + approved} == {guid}
    assert approved[0] in work  # the order was updated by the worker

    everything = web_log.getvalue() + worker.log()
    secrets = [CARD, BUILTIN_CLIENT_SECRET, settings.WEBHOOK_CLIENT_SECRET, *provider_tokens]
    secrets += list(AccessToken.objects.values_list("token", flat=True))
    for secret in secrets:
        assert secret not in everything


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_work_a_request_enqueues_carries_its_request_id_in_the_message(
    broker: RedisServer,  # noqa: F811
) -> None:
    from redis import Redis

    from agentdesk.shared.logcontext import request_id
    from payments import outbox

    token = request_id.set("desk-click-0001")
    try:
        with transaction.atomic():
            outbox.enqueue("payments.poll_payment", 7)
    finally:
        request_id.reset(token)
    raw = Redis.from_url(broker.url()).lpop("celery")
    assert raw is not None
    message = json.loads(raw)
    assert message["headers"]["request_id"] == "desk-click-0001"
    assert message["headers"]["task"] == "payments.poll_payment"
