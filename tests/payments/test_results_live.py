"""Getting every result home with real parts: a real Celery worker (with its beat) on a real
Redis broker of our own, the built-in sandbox over real HTTP, PostgreSQL. The webhook and the
poller race; webhooks repeat and arrive out of order; the worker is SIGKILLed mid-poll; Redis
restarts with payments in flight; VCC answers 500s, 429s, timeouts and malformed bodies; a
result is purged before we read it. In every case: no result VCC still held is lost, nothing
is applied twice, and the order is right."""

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import requests
from celery import Celery
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from agentdesk.celery import app as celery_app
from payments import orders, services
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
from tests import builders
from tests.conftest import require_service
from tests.realparts import Process, RedisServer, celery, django_env, wait_for
from tests.sandbox_fixtures import Sandbox

pytestmark = [pytest.mark.services, pytest.mark.live, pytest.mark.timeout(240)]
State, Kind, Source = Payment.State, PaymentEvent.Kind, PaymentEvent.Source
# How the worker runs in these tests: short leases, visibility timeout and sweep, so a fault's
# recovery shows within seconds rather than minutes.
WORKER_SETTINGS = {
    "PAYMENT_POLL_LEASE_SECONDS": "4",
    "CELERY_VISIBILITY_TIMEOUT": "12",
    "CELERY_UNACKED_RESTORE_SECONDS": "2",
    "PAYMENT_SWEEP_SECONDS": "2",
    "WEBHOOK_REQUEUE_AFTER_SECONDS": "3",
    "VCC_READ_TIMEOUT": "2",
    "LOG_LEVEL": "INFO",
}


def this_test_database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def use_broker(app: Celery, url: str) -> None:
    """Point this process's Celery app (start_payment, the live server's webhook receiver)
    at `url`, dropping connections it pooled to the old broker."""
    if app._pool is not None:  # type: ignore[attr-defined]
        app.pool.force_close_all()
    # kombu keeps producer pools per broker in a registry of its own: one left there would
    # hand out the connection pool just closed ("Acquire on closed pool" in later tests).
    kombu.pools.reset()
    app.conf.broker_url = url
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    require_service("PostgreSQL (DATABASE_URL)", connection.vendor == "postgresql")
    require_service("redis-server", RedisServer.available())
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def broker(own_redis: RedisServer) -> Iterator[RedisServer]:
    previous = celery_app.conf.broker_url
    use_broker(celery_app, own_redis.url())
    yield own_redis
    use_broker(celery_app, previous)


StartWorker = Callable[[], Process]


@pytest.fixture
def start_worker(
    sandbox: Sandbox, broker: RedisServer, live_server: LiveServer, tmp_path: Path
) -> Iterator[StartWorker]:
    env = django_env(
        DATABASE_URL=this_test_database_url(),
        REDIS_URL=broker.url(),
        CELERY_BROKER_URL=broker.url(),
        SITE_URL=live_server.url,
        VAR_DIR=str(tmp_path / "var"),
        **WORKER_SETTINGS,
    )
    workers: list[Process] = []

    def start() -> Process:
        worker = celery(
            "worker",
            "--beat",
            "--concurrency=3",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            env=env,
            log_dir=tmp_path,
            name=f"worker-{len(workers)}",
        )
        workers.append(worker)
        return worker.start(ready=" ready.")

    yield start
    for worker in workers:
        worker.stop()
        print(f"--- {worker.name} log (tail) ---\n{worker.log()[-4000:]}")


def start_payments(count: int) -> list[Payment]:
    flow = builders.flow()
    agent = builders.agent_user().agent
    payments = []
    for _ in range(count):
        started = services.start_payment(order=builders.order(), flow=flow, agent=agent)
        assert started.payment.state == State.IN_PROGRESS, started.payment.message
        payments.append(started.payment)
    return payments


def wait_until_settled(payments: list[Payment], timeout: float = 60) -> list[Payment]:
    ids = [payment.pk for payment in payments]
    live = Payment.objects.filter(pk__in=ids, state=State.IN_PROGRESS)
    try:
        wait_for(lambda: not live.exists(), timeout=timeout, interval=0.2)
    except AssertionError:
        stuck = list(live.values("pk", "poll_count", "next_poll_at"))
        raise AssertionError(f"still in progress after {timeout}s: {stuck}") from None
    return list(Payment.objects.filter(pk__in=ids).select_related("order").order_by("pk"))


def assert_applied_once(payment: Payment, state: str) -> None:
    """The result moved the payment exactly once, nothing contradicted it, and the order
    says what the payment says."""
    assert payment.state == state, payment.message
    changes = payment.events.filter(kind=Kind.STATE_CHANGED, from_state=State.IN_PROGRESS)
    assert changes.count() == 1
    assert not payment.events.filter(kind=Kind.CONTRADICTION).exists()
    assert not payment.flagged
    assert payment.next_poll_at is None
    order = payment.order
    if state == State.APPROVED:
        assert (order.status, order.paid_amount) == (Order.Status.PAID, order.amount)
        assert order.paid_at is not None
    else:
        assert (order.status, order.paid_amount, order.paid_at) == (Order.Status.OPEN, None, None)


def webhook_token(live_server: LiveServer) -> str:
    response = requests.post(
        live_server.url + reverse("payments:webhook-token"),
        data={
            "grant_type": "client_credentials",
            "client_id": settings.WEBHOOK_CLIENT_ID,
            "client_secret": settings.WEBHOOK_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


def task_ids(log: str, what: str) -> set[str]:
    """Ids of the tasks a worker's log says were `received` or `succeeded`."""
    return set(re.findall(rf"Task payments\.\w+\[([0-9a-f-]+)\] {what}", log))


def fault_knobs(sandbox: Sandbox) -> list[dict[str, object]]:
    knobs: list[dict[str, object]] = sandbox.http.get(sandbox.url + "/control/faults").json()[
        "faults"
    ]
    return knobs


# --- The two paths ------------------------------------------------------------------------


def test_the_same_result_by_webhook_and_by_poll_is_applied_once(
    sandbox: Sandbox, start_worker: StartWorker
) -> None:
    start_worker()
    payments = start_payments(6)
    outcomes = ["approved", "declined", "hangup", "approved", "error", "approved"]
    states = [State.APPROVED, State.DECLINED, State.ABANDONED, State.APPROVED, State.ERROR]
    states.append(State.APPROVED)
    for payment, outcome in zip(payments, outcomes, strict=True):
        sandbox.complete(payment.session_guid or "", outcome)
    settled = wait_until_settled(payments)
    for payment, state in zip(settled, states, strict=True):
        assert_applied_once(payment, state)
    # Both paths delivered: every webhook reached us and VCC confirmed it...
    wait_for(
        lambda: (
            WebhookDelivery.objects.filter(status=WebhookDelivery.Status.CONFIRMED).count()
            == len(payments)
        ),
        timeout=30,
        what="every webhook to be confirmed",
    )
    # ...and each payment heard its result once or twice, never applied more than once.
    heard = PaymentEvent.objects.filter(source__in=[Source.WEBHOOK, Source.POLL])
    assert heard.filter(kind=Kind.STATE_CHANGED).count() == len(payments)
    assert heard.exclude(kind__in=[Kind.STATE_CHANGED, Kind.REPEATED]).count() == 0


def test_repeated_and_out_of_order_webhooks_change_the_order_once(
    sandbox: Sandbox, start_worker: StartWorker, live_server: LiveServer
) -> None:
    start_worker()
    sandbox.webhooks_off()
    (payment,) = start_payments(1)
    guid = payment.session_guid or ""
    # Keep the poller away from this one: only webhooks make it read the session.
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now() + timedelta(hours=1))
    sandbox.start_progress(guid)
    in_progress = sandbox.api_session(guid)
    sandbox.complete(guid, "approved")
    finished = sandbox.api_session(guid)

    headers = {"Authorization": f"Bearer {webhook_token(live_server)}"}
    url = live_server.url + reverse("payments:webhook")
    for body in (finished, in_progress, finished, finished):  # repeats, and one arriving late
        response = requests.post(url, json=body, headers=headers, timeout=10)
        assert response.status_code == 200

    wait_for(
        lambda: (
            WebhookDelivery.objects.filter(status=WebhookDelivery.Status.CONFIRMED).count() == 4
        ),
        timeout=30,
        what="the four deliveries to be confirmed",
    )
    payment = Payment.objects.select_related("order").get(pk=payment.pk)
    assert_applied_once(payment, State.APPROVED)
    # Deliveries that rang together are confirmed by one read; later ones by a read each.
    events = list(payment.events.values_list("source", "kind"))
    assert events[:3] == [
        (Source.AGENT, Kind.STATE_CHANGED),
        (Source.SYSTEM, Kind.STATE_CHANGED),
        (Source.WEBHOOK, Kind.STATE_CHANGED),
    ]
    # Later reads only repeat what was applied. A delivery that rings while a round is
    # reading makes a second round read too; when the first round has meanwhile confirmed
    # every delivery, the second confirms none and its repeat is the poll's (CI saw it once).
    assert set(events[3:]) <= {(Source.WEBHOOK, Kind.REPEATED), (Source.POLL, Kind.REPEATED)}
    late = WebhookDelivery.objects.get(body__contains='"InProgress"')
    assert late.error == "VCC has finished the session since"


# --- Faults -------------------------------------------------------------------------------


def test_a_worker_killed_mid_poll_is_replaced_and_the_result_still_lands(
    sandbox: Sandbox, start_worker: StartWorker
) -> None:
    sandbox.webhooks_off()
    sandbox.faults(path="get", latency_ms=6000, count=1)  # the first read hangs
    worker = start_worker()
    (payment,) = start_payments(1)

    def claimed_and_reading() -> bool:
        row = Payment.objects.get(pk=payment.pk)
        return (
            row.poll_count == 0
            and row.next_poll_at is not None
            and (row.next_poll_at > timezone.now() + timedelta(seconds=1))
        )

    wait_for(claimed_and_reading, timeout=20, what="the first read to be under way")
    worker.kill()
    unfinished = task_ids(worker.log(), "received") - task_ids(worker.log(), "succeeded")
    assert unfinished, "the worker was killed with no task under way"
    sandbox.complete(payment.session_guid or "", "approved")
    assert Payment.objects.get(pk=payment.pk).state == State.IN_PROGRESS

    replacement = start_worker()
    (settled,) = wait_until_settled([payment], timeout=60)
    assert_applied_once(settled, State.APPROVED)
    assert settled.events.get(kind=Kind.STATE_CHANGED, from_state=State.IN_PROGRESS).source == (
        Source.POLL
    )
    # Late acknowledgement: the task the killed worker held comes back (after the visibility
    # timeout) and runs again, harmlessly.
    wait_for(
        lambda: unfinished & task_ids(replacement.log(), "received"),
        timeout=30,
        what="the killed worker's task to be delivered again",
    )


def test_redis_restarted_with_payments_in_flight_loses_no_result(
    sandbox: Sandbox, start_worker: StartWorker, broker: RedisServer
) -> None:
    start_worker()
    payments = start_payments(8)
    ids = [payment.pk for payment in payments]
    wait_for(
        lambda: Payment.objects.filter(pk__in=ids, poll_count__gte=1).count() == len(ids),
        timeout=30,
        what="every payment to be polled once",
    )
    broker.stop()  # everything queued is lost
    for payment in payments[:4]:  # results arrive while the broker is down
        sandbox.complete(payment.session_guid or "", "approved")
    broker.start()
    for payment in payments[4:]:
        sandbox.complete(payment.session_guid or "", "declined")
    settled = wait_until_settled(payments, timeout=90)
    for payment in settled[:4]:
        assert_applied_once(payment, State.APPROVED)
    for payment in settled[4:]:
        assert_applied_once(payment, State.DECLINED)
    # Deliveries stored while the broker was down were queued again by the sweep.
    wait_for(
        lambda: not WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED).exists(),
        timeout=60,
        what="every stored delivery to be processed",
    )


def test_redis_restarted_while_reads_are_under_way_keeps_the_worker_consuming(
    sandbox: Sandbox, start_worker: StartWorker, broker: RedisServer
) -> None:
    """The broker connection drops while late-acknowledged reads run: closing it puts their
    messages back and they acknowledge after it is gone. The worker must go on taking results
    (it used to stop consuming until restarted by hand: kombu's AttributeError in
    `_connparams`, see agentdesk/broker.py)."""
    sandbox.webhooks_off()
    worker = start_worker()
    in_flight = start_payments(6)
    for round_ in range(3):
        payments, in_flight = in_flight[:2], in_flight[2:]
        # The next reads hang for a while: the broker restarts under them.
        slow = sandbox.faults(path="get", latency_ms=4000, count=2)
        wait_for(
            lambda slow=slow: (
                not any(f["id"] == slow["id"] and f["remaining"] for f in fault_knobs(sandbox))
            ),
            timeout=20,
            what="the slow reads to be under way",
        )
        broker.restart()  # everything queued is lost; the slow reads finish after this
        for payment in payments:
            sandbox.complete(payment.session_guid or "", "approved")
        for payment in wait_until_settled(payments, timeout=60):
            assert_applied_once(payment, State.APPROVED)
        # ...by the same worker, still running: nobody had to restart it.
        assert worker.process is not None and worker.process.poll() is None, f"round {round_}"


def test_vcc_failing_for_a_while_delays_results_but_loses_none(
    sandbox: Sandbox, start_worker: StartWorker
) -> None:
    sandbox.webhooks_off()
    start_worker()
    payments = start_payments(3)
    for payment in payments:
        sandbox.complete(payment.session_guid or "", "approved")
    # One kind of failure after another, each for the next few reads of any session.
    for fault in (
        {"status_code": 500},
        {"rate_limit": 1},
        {"malformed": True},
        {"timeout": 3},  # longer than the worker's 2 s read timeout
        {"status_code": 503},
    ):
        added = sandbox.faults(path="get", count=2, **fault)
        wait_for(
            lambda added=added: (
                not any(f["id"] == added["id"] and f["remaining"] for f in fault_knobs(sandbox))
            ),
            timeout=40,
            what=f"VCC to answer {fault} twice",
        )
    for payment in wait_until_settled(payments, timeout=60):
        assert_applied_once(payment, State.APPROVED)
    assert sandbox.stats()["faults_injected"] == 10


def test_a_result_purged_before_we_read_it_is_outcome_unknown(
    sandbox: Sandbox, start_worker: StartWorker
) -> None:
    sandbox.webhooks_off()
    purged, kept = start_payments(2)
    # While no worker runs, both finish; VCC forgets one result before anyone reads it.
    sandbox.complete(purged.session_guid or "", "approved")
    sandbox.purge(purged.session_guid or "")
    sandbox.complete(kept.session_guid or "", "approved")
    start_worker()
    purged, kept = wait_until_settled([purged, kept])
    assert_applied_once(kept, State.APPROVED)
    assert purged.state == State.UNKNOWN
    assert "no longer has this session" in purged.message
    assert purged.order.status == Order.Status.OPEN
    assert "unknown" in (orders.blocking_reason(purged.order) or "")
