"""Metrics across real processes (agentdesk/metrics.py, PROMETHEUS_MULTIPROC_DIR): a Celery
worker whose pool processes bring sandbox payments' results home serves their counters, added
up, on METRICS_WORKER_BIND behind the token; a real gunicorn empties the directory as it
starts and adds up its workers' counters, those of workers that ended included."""

import os
import signal
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.live_server_helper import LiveServer

from payments.models import Payment
from tests.payments.test_results_live import (  # noqa: F401  (fixtures)
    broker,
    own_redis,
    start_payments,
    this_test_database_url,
    wait_until_settled,
)
from tests.realparts import Process, RedisServer, celery, django_env, free_port, wait_for
from tests.sandbox_fixtures import Sandbox

pytestmark = [pytest.mark.services, pytest.mark.live, pytest.mark.timeout(240)]

GUNICORN = ["agentdesk.wsgi:application", "--config", "python:agentdesk.gunicorn"]
TOKEN = "w" * 24 + "-worker-scrape-token-0123"


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_a_worker_serves_its_pool_processes_counters(
    sandbox: Sandbox,
    broker: RedisServer,  # noqa: F811
    live_server: LiveServer,
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    worker = celery(
        "worker",
        "--beat",
        "--concurrency=3",
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
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
            METRICS_WORKER_BIND=f"127.0.0.1:{port}",
            METRICS_TOKEN=TOKEN,
        ),
        log_dir=tmp_path,
    )
    try:
        worker.start(ready=" ready.")
        payments = start_payments(2)
        for payment in payments:
            sandbox.complete(payment.session_guid or "", "approved")
        settled = wait_until_settled(payments)
        assert {payment.state for payment in settled} == {Payment.State.APPROVED}
        ended = (
            "agentdesk_payments_ended_total",
            frozenset({("flow", settled[0].flow.name), ("state", "approved")}),
        )
        wait_for(lambda: scrape(url).get(ended) == 2, timeout=10, what="both results counted")
        samples = scrape(url)
        delays = sum(
            value
            for (name, _), value in samples.items()
            if name == "agentdesk_result_delay_seconds_count"
        )
        assert delays == 2
        # Each result came home by a webhook task or a poll round, both in the pool processes.
        processed = ("agentdesk_webhook_deliveries_total", frozenset({("outcome", "processed")}))
        finished = ("agentdesk_poll_reads_total", frozenset({("outcome", "finished")}))
        assert samples.get(processed, 0) + samples.get(finished, 0) >= 2
        assert requests.get(url, timeout=10).status_code == 403
        assert requests.get(url.replace("/metrics", "/other"), timeout=10).status_code == 404
        assert list((tmp_path / "metrics").glob("counter_*.db"))  # one file per process
    finally:
        worker.stop()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.mark.usefixtures("committed_db")
def test_gunicorn_adds_up_its_workers_counters_even_after_one_ends(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by a previous run")
    web = Process(
        "web",
        [sys.executable, "-m", "gunicorn", *GUNICORN],
        env=django_env(
            DATABASE_URL=this_test_database_url(),
            VAR_DIR=str(tmp_path / "var"),
            WEB_BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY="2",
            WEB_THREADS="2",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            METRICS_TOKEN=TOKEN,
        ),
        log_dir=tmp_path,
    )

    def refused_webhooks(count: int) -> None:
        for _ in range(count):
            answer = requests.post(f"{base}/payments/webhook/vcc", data="{}", timeout=10)
            assert answer.status_code == 401

    try:
        web.start(ready="Booting worker")
        wait_for(lambda: len(_children(web.pid)) == 2, timeout=30, what="two gunicorn workers")
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=5).ok, timeout=30, what="web")
        assert not (metrics_dir / "counter_1.db").exists()  # emptied as gunicorn started
        refused_webhooks(10)
        first = _children(web.pid)
        for child in first:
            os.kill(child, signal.SIGTERM)  # gunicorn starts new workers in their place
        wait_for(
            lambda: len(set(_children(web.pid)) - set(first)) == 2,
            timeout=30,
            what="two new gunicorn workers",
        )
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=5).ok, timeout=30, what="web")
        refused_webhooks(10)

        refused = ("agentdesk_webhook_deliveries_total", frozenset({("outcome", "refused")}))
        assert scrape(f"{base}/metrics").get(refused) == 20
    finally:
        web.stop()
