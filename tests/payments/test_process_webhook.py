"""webhooks.process, webhooks.replay and the admin's replay: a stored delivery is settled
against what VCC says (the sandbox, over HTTP), and VCC's result is applied through
apply_result exactly once, however often the delivery arrives or is processed."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks

from agentdesk.staff.models import AuditEntry
from payments import poller, webhooks
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
from payments.vcc.client import client_for
from tests import builders
from tests.conftest import SentTasks
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.django_db
Kind, Status = PaymentEvent.Kind, WebhookDelivery.Status


def sandboxed_payment(sandbox: Sandbox, outcome: str = "approved") -> Payment:
    """A live payment on a real sandbox session that finished with `outcome`; the sandbox
    sends no webhook of its own (the test posts what it wants)."""
    sandbox.webhooks_off()
    new = client_for("builtin").create_session(
        agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
    )
    sandbox.complete(new.session_guid, outcome, request_id="GW-1")
    return builders.live_payment(session_guid=new.session_guid)


def deliver(
    payment: Payment, sandbox: Sandbox, vcc_body: dict[str, object] | None = None, **body: object
) -> WebhookDelivery:
    """VCC's delivery for the payment's session (its GET body, or `body` claiming otherwise),
    received and then confirmed the way the worker does: the poller's round for a live
    payment, webhooks.process for one already settled."""
    assert payment.session_guid
    claim = builders.session_body(payment.session_guid, **body) if body else None  # type: ignore[arg-type]
    claim = claim or vcc_body or sandbox.api_session(payment.session_guid)
    delivery = webhooks.receive(body=json.dumps(claim))
    poller.run_round(worker="test")
    delivery.refresh_from_db()
    if delivery.status == Status.RECEIVED:
        delivery = webhooks.process(delivery_id=delivery.pk)
    return delivery


def kinds(payment: Payment) -> list[tuple[str, str, str]]:
    return list(payment.events.values_list("source", "kind", "to_state"))


def test_a_result_moves_payment_and_order_once(sandbox: Sandbox, sent_tasks: SentTasks) -> None:
    payment = sandboxed_payment(sandbox)
    delivery = deliver(payment, sandbox)
    payment.refresh_from_db()
    assert delivery.status == Status.CONFIRMED and delivery.payment == payment
    assert payment.state == Payment.State.APPROVED
    assert payment.next_poll_at is None
    assert payment.order.status == Order.Status.PAID
    assert payment.order.paid_amount == Decimal("12.40")
    assert kinds(payment) == [("webhook", Kind.STATE_CHANGED, "approved")]


def test_processing_a_delivery_twice_applies_it_once(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    delivery = deliver(payment, sandbox)
    again = webhooks.process(delivery_id=delivery.pk)
    assert again.status == Status.CONFIRMED
    assert kinds(payment) == [("webhook", Kind.STATE_CHANGED, "approved")]


def test_a_repeated_delivery_is_read_again_recorded_and_changes_nothing(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    deliver(payment, sandbox)
    paid_at = Order.objects.get().paid_at
    vcc_body = sandbox.api_session(payment.session_guid or "")
    gets = sandbox.stats()["session_gets"]
    repeat = deliver(payment, sandbox, vcc_body)
    assert repeat.status == Status.CONFIRMED
    assert sandbox.stats()["session_gets"] == gets + 1
    assert kinds(payment) == [
        ("webhook", Kind.STATE_CHANGED, "approved"),
        ("webhook", Kind.REPEATED, "approved"),
    ]
    assert Order.objects.get().paid_at == paid_at
    assert not Payment.objects.get().flagged


def test_a_delivery_contradicting_vcc_after_the_result_is_flagged_never_applied(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    deliver(payment, sandbox)
    forged = deliver(payment, sandbox, decision="REJECT", request_id="999")
    payment.refresh_from_db()
    assert forged.status == Status.CONTRADICTED
    assert payment.state == Payment.State.APPROVED
    assert payment.flagged
    assert payment.order.status == Order.Status.PAID
    assert kinds(payment)[1:] == [
        ("webhook", Kind.CONTRADICTION, "approved"),
        ("poll", Kind.REPEATED, "approved"),  # VCC's own word, read again
    ]


def test_a_late_unfinished_delivery_after_the_result_changes_nothing(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox, "declined")
    deliver(payment, sandbox)
    late = deliver(payment, sandbox, state="InProgress")
    payment.refresh_from_db()
    assert late.status == Status.CONFIRMED and "finished the session since" in late.error
    assert payment.state == Payment.State.DECLINED and not payment.flagged
    assert kinds(payment) == [
        ("webhook", Kind.STATE_CHANGED, "declined"),
        ("webhook", Kind.REPEATED, "declined"),
    ]


def test_a_session_finished_without_a_gateway_answer_is_abandoned(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox, "hangup")
    deliver(payment, sandbox)
    payment.refresh_from_db()
    assert payment.state == Payment.State.ABANDONED
    assert payment.order.status == Order.Status.OPEN


def test_a_delivery_vcc_no_longer_has_agreeing_with_the_payment_is_not_flagged(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    vcc_body = sandbox.api_session(payment.session_guid or "")
    deliver(payment, sandbox, vcc_body)
    sandbox.purge(payment.session_guid or "")
    late = deliver(payment, sandbox, vcc_body)
    assert late.status == Status.UNCONFIRMED
    assert not Payment.objects.get().flagged  # VCC had already said the same


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
def delivered(sandbox: Sandbox, sent_tasks: SentTasks) -> WebhookDelivery:
    """A delivery VCC confirmed, which approved a payment."""
    return deliver(sandboxed_payment(sandbox), sandbox)


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
    assert sent_tasks[-1] == ("payments.process_webhook", (delivery.pk,), 0)
    assert webhooks.process(delivery_id=delivery.pk).status == Status.CONFIRMED
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
    listed = client.get(url)
    assert listed.status_code == 200
    assert "Confirmed by VCC" in listed.content.decode()  # what happened to each delivery
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, form)
    assert sent_tasks == []

    admin = User.objects.create_superuser("root", password=builders.PASSWORD)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form, follow=True)
    assert "1 deliveries queued" in response.content.decode()
    assert sent_tasks == [("payments.process_webhook", (delivery.pk,), 0)]
