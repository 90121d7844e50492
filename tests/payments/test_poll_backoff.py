"""Polling that respects VCC (payments/webhook_health.py, poller.next_read_at, run_round):
while webhooks arrive and VCC confirms them, a live session is read only as a safety net;
the first result polling finds that no webhook announced (or a window without a confirmed
delivery) puts every live session back on PAYMENT_POLL_SCHEDULE. Counted in the sandbox's
reads over HTTP and in the next read times the poller writes, not in wall-clock time."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from payments import poller, services, webhook_health, webhooks
from payments.models import Payment, PaymentEvent, PaymentFlow
from payments.vcc.client import client_for
from tests import builders
from tests.conftest import SentTasks
from tests.sandbox_fixtures import Sandbox

State = Payment.State
T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
SAFETY_NET = timedelta(seconds=60)


@pytest.fixture(autouse=True)
def schedule(settings: Settings) -> None:
    settings.PAYMENT_POLL_SCHEDULE = ((timedelta(seconds=1), timedelta(minutes=3)),)
    settings.PAYMENT_POLL_SCHEDULE += ((timedelta(seconds=5), None),)
    settings.PAYMENT_POLL_SAFETY_NET = SAFETY_NET
    settings.WEBHOOK_HEALTHY_WINDOW = timedelta(minutes=2)


# --- What counts as healthy -------------------------------------------------------------------


def test_webhooks_are_healthy_only_after_a_confirmed_delivery_within_the_window(
    settings: Settings,
) -> None:
    assert not webhook_health.healthy()  # nothing confirmed yet: the quick schedule
    webhook_health.record_confirmed()
    assert webhook_health.healthy()
    window = settings.WEBHOOK_HEALTHY_WINDOW.total_seconds()
    cache.set(webhook_health.CONFIRMED_KEY, time.time() - window - 1, timeout=None)
    assert not webhook_health.healthy()  # none for longer than the window


def test_a_result_no_webhook_announced_ends_health_until_the_next_confirmation() -> None:
    webhook_health.record_confirmed()
    webhook_health.record_missed()
    assert not webhook_health.healthy()
    webhook_health.record_confirmed()
    assert webhook_health.healthy()


def test_without_webhook_credentials_webhooks_are_never_healthy(settings: Settings) -> None:
    settings.WEBHOOK_CLIENT_SECRET = ""
    webhook_health.record_confirmed()
    assert not webhook_health.healthy()


def test_the_moment_webhooks_stop_being_healthy_is_reported_once() -> None:
    assert webhook_health.check() == (False, False)
    webhook_health.record_confirmed()
    assert webhook_health.check() == (True, False)
    webhook_health.record_missed()
    assert webhook_health.check() == (False, True)
    assert webhook_health.check() == (False, False)


@pytest.mark.parametrize("age, quick", [(timedelta(0), 1), (timedelta(minutes=5), 5)])
def test_the_safety_net_replaces_the_schedule_while_webhooks_are_healthy(
    age: timedelta, quick: int
) -> None:
    now = T0 + age
    assert poller.next_read_at(session_started_at=T0, now=now) == now + timedelta(seconds=quick)
    backed_off = poller.next_read_at(session_started_at=T0, now=now, safety_net=True)
    assert backed_off == now + SAFETY_NET
    near_the_end = T0 + timedelta(minutes=14)  # never past the last read
    last = poller.last_read_at(T0)
    assert poller.next_read_at(session_started_at=T0, now=near_the_end, safety_net=True) == last


# --- Over HTTP, against the sandbox -----------------------------------------------------------


def sandboxed_payment(sandbox: Sandbox, **fields: object) -> Payment:
    new = client_for("builtin").create_session(
        agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
    )
    return builders.live_payment(session_guid=new.session_guid, order=builders.order(), **fields)


def webhook_confirmed(sandbox: Sandbox) -> None:
    """One payment whose result VCC's webhook announced and a read confirmed."""
    payment = sandboxed_payment(sandbox, next_poll_in=timedelta(minutes=5))
    sandbox.complete(payment.session_guid or "", "approved")
    Client().post(
        "/payments/webhook/vcc",
        json.dumps(sandbox.api_session(payment.session_guid or "")),
        content_type="application/json",
        headers={"Authorization": f"Bearer {webhooks.issue_token()}"},
    )
    assert poller.run_round(worker="test") == {"finished": 1}
    assert webhook_health.healthy()


def next_read_in(payment: Payment) -> timedelta:
    payment.refresh_from_db()
    assert payment.next_poll_at is not None
    return payment.next_poll_at - timezone.now()


def reads(sandbox: Sandbox) -> int:
    return sandbox.stats()["session_gets"]


@pytest.mark.usefixtures("sent_tasks")
def test_while_webhooks_arrive_a_live_session_is_read_only_as_a_safety_net(
    sandbox: Sandbox,
) -> None:
    sandbox.webhooks_off()  # the test posts the webhook itself
    webhook_confirmed(sandbox)
    live = sandboxed_payment(sandbox)  # due now
    before = reads(sandbox)
    assert poller.run_round(worker="test") == {"waiting": 1}
    assert reads(sandbox) == before + 1
    assert SAFETY_NET - timedelta(seconds=5) < next_read_in(live) <= SAFETY_NET
    assert poller.run_round(worker="test") == {}  # nothing else is read meanwhile
    assert reads(sandbox) == before + 1


def test_a_payment_started_while_webhooks_arrive_is_first_read_by_the_safety_net(
    sandbox: Sandbox, sent_tasks: SentTasks, agent_user: User
) -> None:
    sandbox.webhooks_off()
    webhook_confirmed(sandbox)
    flow = PaymentFlow.objects.get()
    started = services.start_payment(order=builders.order(), flow=flow, agent=agent_user.agent)
    assert started.payment.state == State.IN_PROGRESS
    assert next_read_in(started.payment) > SAFETY_NET - timedelta(seconds=5)


@pytest.mark.usefixtures("sent_tasks")
def test_a_result_no_webhook_announced_puts_every_live_session_back_on_the_schedule(
    sandbox: Sandbox,
) -> None:
    sandbox.webhooks_off()  # from now on VCC sends none
    webhook_confirmed(sandbox)
    waiting = sandboxed_payment(sandbox, next_poll_in=SAFETY_NET - timedelta(seconds=10))
    ended = sandboxed_payment(sandbox)  # due now
    sandbox.complete(ended.session_guid or "", "declined")
    before = reads(sandbox)
    # The safety net finds a result no webhook announced ...
    assert poller.run_round(worker="test") == {"finished": 1}
    ended.refresh_from_db()
    assert ended.state == State.DECLINED
    assert ended.events.get().source == PaymentEvent.Source.POLL
    assert not webhook_health.healthy()
    # ... and the next round reads every live session at once, then on the quick schedule.
    assert poller.run_round(worker="test") == {"waiting": 1}
    assert reads(sandbox) == before + 2
    assert next_read_in(waiting) <= timedelta(seconds=1)
