"""/metrics (agentdesk/metrics.py, agentdesk/shared/metrics.py, payments/metrics.py): a sandbox
payment keyed on the caller's phone moves the counters (started, ended approved, VCC calls by
endpoint shape, the time to result by path, webhook deliveries, poll reads, the desk's
latency); the gauges say what waits (live, unknown, flagged, the poller's backlog and lag);
no label holds a session GUID or a card-like number; /metrics is refused without the token
(404 in production with none); processes sharing PROMETHEUS_MULTIPROC_DIR are added up."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django import DjangoAssertNumQueries, Settings

from agentdesk.shared.metrics import endpoint_shape
from payments import poller
from payments.models import Payment
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.conftest import SentTasks
from tests.desk.conftest import WORKSPACE
from tests.realparts import wait_for
from tests.sandbox_fixtures import Sandbox

CARD = "4111111111111111"
GUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
TOKEN = "m" * 20 + "-scrape-token-0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client | None = None, **headers: str) -> Samples:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_sandbox_payment_moves_the_counters_and_no_label_holds_a_guid_or_a_card(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    agent = builders.signed_in(builders.agent_user())
    order, flow = builders.order(), builders.flow(name="Phone orders")
    before = scrape()

    click = agent.post(f"/desk/orders/{order.pk}/start/", {"flow": flow.pk}, **WORKSPACE)
    assert click.status_code == 200
    payment = Payment.objects.get(order=order)
    guid = payment.session_guid or ""
    page = SandboxSession.objects.get(guid=guid)
    tokens = {
        "X-BEARER-TOKEN": page.agent_access_token,
        "X-REFRESH-TOKEN": page.agent_refresh_token,
    }
    requests.post(payment.provider_url, data=tokens, timeout=5)
    sandbox.press(guid, f"{CARD}#1239#123#")
    submitted = requests.post(
        payment.provider_url.replace("/framed", "/submit"), data=tokens, timeout=5
    )
    assert submitted.status_code == 200
    # VCC's webhook reaches the live server and rings; the worker's confirmation read of the
    # session is played here by the poller.
    wait_for(
        lambda: moved(before, scrape(), "agentdesk_webhook_deliveries_total", outcome="received"),
        timeout=10,
        what="the webhook delivery to be counted",
    )
    claims = poller.claim_due(limit=10, due_by=timezone.now() + timedelta(minutes=1))
    assert poller.read_claimed(claims)["finished"] == 1
    assert Payment.objects.get(pk=payment.pk).state == Payment.State.APPROVED
    after = scrape()

    assert moved(before, after, "agentdesk_payments_started_total", flow="Phone orders") == 1
    ended = {"flow": "Phone orders", "state": "approved"}
    assert moved(before, after, "agentdesk_payments_ended_total", **ended) == 1
    post = {"account": "builtin", "method": "POST", "endpoint": "/v1/session", "status": "200"}
    assert moved(before, after, "agentdesk_vcc_calls_total", **post) == 1
    read = {**post, "method": "GET", "endpoint": "/v1/session/{id}"}
    assert moved(before, after, "agentdesk_vcc_calls_total", **read) == 1
    timed = {"account": "builtin", "method": "GET", "endpoint": "/v1/session/{id}"}
    assert moved(before, after, "agentdesk_vcc_call_duration_seconds_count", **timed) == 1
    # Confirmed by VCC's read, the result came home by the webhook's path.
    assert moved(before, after, "agentdesk_result_delay_seconds_count", path="webhook") == 1
    assert moved(before, after, "agentdesk_result_delay_seconds_count", path="poll") == 0
    confirmed = moved(before, after, "agentdesk_webhook_deliveries_total", outcome="confirmed")
    assert confirmed == 1
    start_view = {"view": "desk:start", "method": "POST"}
    assert moved(before, after, "agentdesk_desk_request_duration_seconds_count", **start_view) == 1

    labels = {v for _, pairs in after for _, v in pairs}
    assert guid and not any(guid in label for label in labels)
    assert not any(GUID.search(label) for label in labels)
    assert not any(re.search(r"\d{6,}", label) for label in labels), labels
    assert not any(str(payment.pk) == label or order.reference in label for label in labels)


def test_the_gauges_say_what_is_waiting(
    db: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    now = timezone.now()
    builders.live_payment(next_poll_in=timedelta(seconds=5))
    overdue = builders.live_payment()
    Payment.objects.filter(pk=overdue.pk).update(
        next_poll_at=now - timedelta(seconds=30), created_at=now - timedelta(minutes=4)
    )
    builders.payment(state=Payment.State.UNKNOWN)
    builders.payment(state=Payment.State.APPROVED, flagged=True)
    builders.payment(state=Payment.State.DECLINED)

    with django_assert_num_queries(3):  # live and unknown, flagged, the poller's schedule
        samples = scrape()

    assert value(samples, "agentdesk_payments_live", state="in_progress") == 2
    assert value(samples, "agentdesk_payments_live", state="starting") == 0
    assert value(samples, "agentdesk_payments_unknown") == 1
    assert value(samples, "agentdesk_payments_flagged") == 1
    assert value(samples, "agentdesk_poller_backlog") == 1
    assert value(samples, "agentdesk_poller_lag_seconds") >= 30
    assert value(samples, "agentdesk_payment_oldest_live_age_seconds") >= 240
    assert value(samples, "agentdesk_vcc_circuit_open", account="builtin") == 0


def test_metrics_are_refused_without_the_token(db: None, settings: Settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 403
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "x")
    assert wrong.status_code == 403
    assert b"agentdesk_" not in wrong.content
    assert "agentdesk_payments_live" in str(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))


def test_production_does_not_serve_metrics_without_a_token(db: None, settings: Settings) -> None:
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", HTTP_HOST="10.0.0.7")  # scraped by address
    assert response.status_code == 404
    settings.METRICS_TOKEN = TOKEN
    answered = Client().get("/metrics", HTTP_HOST="10.0.0.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answered.status_code == 200


def test_a_weak_metrics_token_stops_production() -> None:
    from agentdesk.production import production_problems

    problems = production_problems({"ALLOWED_HOSTS": ["desk.example.com"], "METRICS_TOKEN": "x"})
    assert any("METRICS_TOKEN" in problem for problem in problems)


@pytest.mark.parametrize(
    "path, shape",
    [
        ("/v1/session", "/v1/session"),
        ("https://vcc.example/api/v1/session?x=1", "/api/v1/session"),
        ("/v1/session/2f3c8a1e-1b2c-4d5e-8f90-123456789abc", "/v1/session/{id}"),
        ("/v1/session/2f3c8a1e1b2c4d5e8f90123456789abc?x=1", "/v1/session/{id}"),
        ("/Auth/connect/token", "/Auth/connect/token"),
        ("/v1/digitalsession", "/v1/digitalsession"),
        ("/orders/4111111111111111/", "/orders/{id}/"),
    ],
)
def test_an_endpoint_is_named_by_its_shape(path: str, shape: str) -> None:
    assert endpoint_shape(path) == shape
    if path.startswith("/"):  # the same path below an API root
        assert endpoint_shape("https://vcc.example/api" + path, "https://vcc.example/api/") == shape


COUNT_ONE = """
import django, sys
django.setup()
from agentdesk.shared.metrics import payments_started
payments_started.labels(flow="Phone orders").inc(int(sys.argv[1]))
"""
EXPOSE = """
import django
django.setup()
from agentdesk.metrics import exposition
print(exposition(with_payments=False).decode())
"""


def test_processes_sharing_the_multiprocess_directory_are_added_up(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
    }
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", COUNT_ONE, count], env=env, check=True, timeout=60)
    text = subprocess.run(
        [sys.executable, "-c", EXPOSE], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert value(samples, "agentdesk_payments_started_total", flow="Phone orders") == 5
