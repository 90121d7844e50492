"""webhooks.process and replay_webhook_delivery: a stored delivery's result is
applied through apply_result exactly once, however often it arrives or is processed."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks

from agentdesk.staff.models import AuditEntry
from payments import webhooks
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
from tests import builders
from tests.conftest import SentTasks

pytestmark = pytest.mark.django_db
Kind, Status = PaymentEvent.Kind, WebhookDelivery.Status


def deliver(payment: Payment, **body: object) -> WebhookDelivery:
    assert payment.session_guid
    raw = json.dumps(builders.session_body(payment.session_guid, **body))  # type: ignore[arg-type]
    delivery = webhooks.receive(body=raw)
    return webhooks.process(delivery_id=delivery.pk)


def kinds(payment: Payment) -> list[tuple[str, str, str]]:
    return list(payment.events.values_list("source", "kind", "to_state"))


def test_a_result_moves_payment_and_order_once(sent_tasks: SentTasks) -> None:
    payment = builders.live_payment()
    delivery = deliver(payment)
    payment.refresh_from_db()
    assert delivery.status == Status.PROCESSED and delivery.payment == payment
    assert payment.state == Payment.State.APPROVED
    assert payment.next_poll_at is None
    assert payment.order.status == Order.Status.PAID
    assert payment.order.paid_amount == Decimal("12.40")
    assert kinds(payment) == [("webhook", Kind.STATE_CHANGED, "approved")]


def test_processing_a_delivery_twice_applies_it_once(sent_tasks: SentTasks) -> None:
    payment = builders.live_payment()
    delivery = deliver(payment)
    again = webhooks.process(delivery_id=delivery.pk)
    assert again.status == Status.PROCESSED and again.attempts == 1
    assert kinds(payment) == [("webhook", Kind.STATE_CHANGED, "approved")]


def test_a_repeated_delivery_is_recorded_and_changes_nothing(sent_tasks: SentTasks) -> None:
    payment = builders.live_payment()
    deliver(payment)
    paid_at = Order.objects.get().paid_at
    deliver(payment)
    assert kinds(payment) == [
        ("webhook", Kind.STATE_CHANGED, "approved"),
        ("webhook", Kind.REPEATED, "approved"),
    ]
    assert Order.objects.get().paid_at == paid_at
    assert not Payment.objects.get().flagged


def test_a_contradiction_is_recorded_and_flagged_never_applied(sent_tasks: SentTasks) -> None:
    payment = builders.live_payment()
    deliver(payment)
    deliver(payment, decision="REJECT", request_id="999")
    payment.refresh_from_db()
    assert payment.state == Payment.State.APPROVED
    assert payment.flagged
    assert payment.order.status == Order.Status.PAID
    assert kinds(payment)[-1] == ("webhook", Kind.CONTRADICTION, "approved")


def test_a_late_unfinished_delivery_after_the_result_changes_nothing(
    sent_tasks: SentTasks,
) -> None:
    payment = builders.live_payment()
    deliver(payment, decision="REJECT")
    late = deliver(payment, state="InProgress")
    payment.refresh_from_db()
    assert late.status == Status.PROCESSED
    assert payment.state == Payment.State.DECLINED
    assert kinds(payment) == [("webhook", Kind.STATE_CHANGED, "declined")]


def test_a_session_finished_without_a_gateway_answer_is_abandoned(sent_tasks: SentTasks) -> None:
    payment = builders.live_payment()
    deliver(payment, decision=None)
    payment.refresh_from_db()
    assert payment.state == Payment.State.ABANDONED
    assert payment.order.status == Order.Status.OPEN


def test_a_delivery_for_a_session_we_do_not_know_is_retried_then_ignored(
    sent_tasks: SentTasks,
) -> None:
    raw = json.dumps(builders.session_body("not-ours"))
    delivery = webhooks.receive(body=raw)
    for attempt in range(1, webhooks.ATTEMPTS):
        delivery = webhooks.process(delivery_id=delivery.pk)
        assert (delivery.status, delivery.attempts) == (Status.RECEIVED, attempt)
    delivery = webhooks.process(delivery_id=delivery.pk)
    assert delivery.status == Status.IGNORED
    assert delivery.error == "No payment has this session."


@pytest.fixture
def delivered(sent_tasks: SentTasks) -> WebhookDelivery:
    """A delivery that approved a payment, processed."""
    return deliver(builders.live_payment())


def test_a_replay_processes_the_delivery_again_without_applying_twice(
    delivered: WebhookDelivery,
    sent_tasks: SentTasks,
    supervisor_user: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    delivery, payment = delivered, delivered.payment
    assert payment is not None
    with django_capture_on_commit_callbacks(execute=True):
        replayed = webhooks.replay(delivery_id=delivery.pk, actor=supervisor_user)
    assert replayed.status == Status.RECEIVED and replayed.attempts == 0
    assert sent_tasks == [("payments.process_webhook", (delivery.pk,), 0)]
    webhooks.process(delivery_id=delivery.pk)
    assert kinds(payment) == [
        ("webhook", Kind.STATE_CHANGED, "approved"),
        ("webhook", Kind.REPEATED, "approved"),
    ]
    entry = AuditEntry.objects.get()
    assert entry.actor == supervisor_user and entry.details["delivery"] == delivery.pk


def test_the_admin_replays_for_those_allowed(
    delivered: WebhookDelivery,
    client: Client,
    sent_tasks: SentTasks,
    supervisor_user: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    delivery = delivered
    url = reverse("admin:payments_webhookdelivery_changelist")
    form = {"action": "replay", "_selected_action": [delivery.pk]}

    client.force_login(supervisor_user)  # may read deliveries, not replay them
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, form)
    assert sent_tasks == []

    admin = User.objects.create_superuser("root", password=builders.PASSWORD)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form, follow=True)
    assert "1 deliveries queued" in response.content.decode()
    assert sent_tasks == [("payments.process_webhook", (delivery.pk,), 0)]
