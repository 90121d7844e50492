"""/healthz and /readyz (agentdesk/health.py, payments/health.py): each readiness check fails
for its own reason with real parts — a Redis of our own stopped, a real worker and beat
killed, a stale beat tick, a database URL that leads nowhere, a migration not applied, a
stale poller, a VCC account whose credentials VCC refused — and all pass when everything runs."""

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from agentdesk.health import WORKER_HEARTBEAT_KEY, record_worker_heartbeat
from payments import health as payments_health
from payments.models import Payment
from payments.vcc.client import client_for
from payments.vcc.errors import VccCredentialsError
from tests import builders
from tests.conftest import require_service
from tests.payments.test_results_live import (  # noqa: F401  (fixtures)
    broker,
    own_redis,
    this_test_database_url,
)
from tests.realparts import ROOT, RedisServer, celery, django_env, wait_for
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.services


def readyz(client: Client | None = None) -> tuple[int, dict[str, dict[str, str]]]:
    response = (client or Client()).get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()["checks"]


def failing(checks: dict[str, dict[str, str]]) -> set[str]:
    return {name for name, check in checks.items() if check["status"] != "ok"}


@pytest.fixture
def everything_ticking() -> None:
    """A worker and beat that have just spoken (tests of one other check)."""
    record_worker_heartbeat("worker@test")
    payments_health.record_beat_tick()


def test_healthz_answers_without_touching_the_database() -> None:
    # No django_db mark: a query here would raise.
    response = Client().get("/healthz", HTTP_HOST="10.0.0.7")  # a balancer, by address
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_when_every_part_answers_in_two_queries(
    everything_ticking: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        status, checks = readyz(Client(HTTP_HOST="10.0.0.7"))
    assert status == 200, checks
    names = {"database", "migrations", "cache", "broker", "worker", "beat", "poller"}
    assert names | {"vcc_token:builtin"} == set(checks)
    assert checks["migrations"]["detail"] == "all applied"


@pytest.mark.django_db
def test_a_beat_that_stopped_ticking_fails_the_beat_check(everything_ticking: None) -> None:
    from django.core.cache import cache

    cache.set(payments_health.BEAT_TICK_KEY, time.time() - 30, timeout=None)
    status, checks = readyz()
    assert status == 503
    assert failing(checks) == {"beat"}
    assert "is celery beat running?" in checks["beat"]["detail"]


@pytest.mark.django_db
def test_a_silent_worker_fails_the_worker_check(everything_ticking: None) -> None:
    from django.core.cache import cache

    cache.delete(WORKER_HEARTBEAT_KEY)
    status, checks = readyz()
    assert status == 503
    assert failing(checks) == {"worker"}


@pytest.mark.django_db
def test_a_stale_poller_names_the_most_overdue_payment(everything_ticking: None) -> None:
    payment = builders.payment(state=Payment.State.IN_PROGRESS)
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now() - timedelta(minutes=1))
    status, checks = readyz()
    assert status == 503
    assert failing(checks) == {"poller"}
    assert f"payment {payment.pk}" in checks["poller"]["detail"]


@pytest.mark.django_db
def test_a_migration_not_applied_fails_the_migrations_check(everything_ticking: None) -> None:
    MigrationRecorder.Migration.objects.filter(
        app="payments", name="0003_drop_unused_fields"
    ).delete()
    status, checks = readyz()
    assert status == 503
    assert failing(checks) == {"migrations"}
    assert "payments.0003_drop_unused_fields" in checks["migrations"]["detail"]


def test_a_database_url_that_leads_nowhere_fails_the_database_checks(
    tmp_path: Path,
) -> None:
    require_service("PostgreSQL (DATABASE_URL)", connection.vendor == "postgresql")
    probe = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz', HTTP_HOST='localhost'); "
        "print(json.dumps({'status': r.status_code, 'checks': r.json()['checks']}))"
    )
    env = django_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", VAR_DIR=str(tmp_path / "var")
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert answer["status"] == 503
    assert {"database", "migrations", "poller"} <= failing(answer["checks"])
    assert "OperationalError" in answer["checks"]["database"]["detail"]


def test_an_account_whose_credentials_vcc_refused_fails_its_token_check(
    sandbox: Sandbox, settings: Settings, everything_ticking: None
) -> None:
    builtin = client_for("builtin").account
    settings.VCC_ACCOUNTS = {
        **settings.VCC_ACCOUNTS,
        "wrong": {
            "AUTH_URL": builtin.auth_url,
            "API_URL": builtin.api_url,
            "REGION": "",
            "CLIENT_ID": "nobody",
            "CLIENT_SECRET": "not-the-secret",
        },
    }
    client_for("builtin").token()
    with pytest.raises(VccCredentialsError):
        client_for("wrong").token()
    asked = sandbox.stats()["token_requests"]

    status, checks = readyz()

    assert status == 503
    assert failing(checks) == {"vcc_token:wrong"}
    assert "invalid_client" in checks["vcc_token:wrong"]["detail"]
    assert "not-the-secret" not in json.dumps(checks)
    assert checks["vcc_token:builtin"]["detail"] == "token cached"
    assert sandbox.stats()["token_requests"] == asked  # the probe asked VCC for nothing


@pytest.fixture
def own_cache(own_redis: RedisServer, settings: Settings) -> RedisServer:  # noqa: F811
    """This process's cache on our own Redis, as the worker's will be."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url(),
            "KEY_PREFIX": "agentdesk",
        }
    }
    return own_redis


@pytest.mark.live
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_ready_with_a_real_worker_and_beat_then_not_when_they_or_redis_stop(
    own_cache: RedisServer,
    broker: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = django_env(
        DATABASE_URL=this_test_database_url(),
        REDIS_URL=broker.url(),
        CELERY_BROKER_URL=broker.url(),
        VAR_DIR=str(tmp_path / "var"),
    )
    worker = celery(
        "worker",
        "--beat",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        env=env,
        log_dir=tmp_path,
    )
    try:
        worker.start(ready=" ready.")
        wait_for(lambda: readyz()[0] == 200, timeout=30, what="/readyz to say ready")
        worker.kill()
        wait_for(
            lambda: failing(readyz()[1]) == {"worker", "beat"},
            timeout=15,
            what="the worker and beat checks to fail",
        )
    finally:
        worker.stop()
        print(worker.log()[-3000:])

    own_cache.stop()
    status, checks = readyz()
    assert status == 503
    assert {"cache", "broker", "worker", "beat"} <= failing(checks)
    assert "cache unreachable" in checks["cache"]["detail"]
    assert {"database", "migrations", "poller"}.isdisjoint(failing(checks))

    own_cache.start()  # back on the same port: the probe's kept connections recover
    wait_for(
        lambda: {"cache", "broker"}.isdisjoint(failing(readyz()[1])),
        timeout=15,
        what="the cache and broker checks to pass again",
    )
