"""poller.sweep: the beat-driven safety net that finds lost work from the rows."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from payments import poller
from payments.models import Payment, PaymentFlow, WebhookDelivery
from tests import builders
from tests.conftest import SentTasks

pytestmark = pytest.mark.django_db
State = Payment.State


def test_a_live_payment_without_a_next_read_is_rearmed() -> None:
    payment = builders.live_payment(next_poll_in=None)
    assert poller.sweep().rearmed == 1
    payment.refresh_from_db()
    assert payment.next_poll_at is not None and payment.next_poll_at <= timezone.now()


def test_a_payment_past_its_window_gets_a_final_read_and_is_unknown_when_unreadable() -> None:
    # An account that no longer exists: the final read fails without reaching any server.
    flow = builders.flow(account="retired", name="Retired", is_default=False)
    PaymentFlow.objects.filter(pk=flow.pk).update(account="retired")
    payment = builders.live_payment(started_ago=timedelta(minutes=16))
    Payment.objects.filter(pk=payment.pk).update(flow=flow)
    report = poller.sweep()
    assert report.final_reads == {"unknown": 1}
    payment.refresh_from_db()
    assert payment.state == State.UNKNOWN
    assert "retention ended" in payment.message


def test_a_payment_inside_its_window_is_left_to_the_poller() -> None:
    builders.live_payment(started_ago=timedelta(minutes=5), next_poll_in=timedelta(seconds=-40))
    report = poller.sweep()
    assert report.final_reads == {}
    assert 39 < report.poll_lag_seconds < 60


def test_a_start_left_hanging_fails_saying_a_session_may_exist() -> None:
    agent = builders.agent_user().agent
    hanging = Payment.objects.create(order=builders.order(), flow=builders.flow(), agent=agent)
    Payment.objects.filter(pk=hanging.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    recent = Payment.objects.create(order=builders.order(), flow=hanging.flow, agent=agent)
    assert poller.sweep().stale_starts == 1
    hanging.refresh_from_db()
    assert hanging.state == State.FAILED_TO_START
    assert "a session may have opened" in hanging.message
    assert Payment.objects.get(pk=recent.pk).state == State.STARTING


def test_a_webhook_delivery_whose_task_was_lost_is_queued_again(
    sent_tasks: SentTasks, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    old = WebhookDelivery.objects.create(body="{}", session_guid="x")
    WebhookDelivery.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(minutes=1)
    )
    WebhookDelivery.objects.create(body="{}", session_guid="y")  # its task may still be queued
    WebhookDelivery.objects.create(body="{}", status=WebhookDelivery.Status.PROCESSED)
    with django_capture_on_commit_callbacks(execute=True):
        assert poller.sweep().webhooks_requeued == 1
    assert sent_tasks == [("payments.process_webhook", (old.pk,), 0)]
