"""A webhook is only the doorbell (payments/webhooks.py, the poller's round): a delivery
received by POST /payments/webhook/vcc makes its payment's session due for a read, and what
VCC answers to GET /v1/session/{guid} (the sandbox, over HTTP) is applied; the delivery is
evidence, confirmed, contradicted or unconfirmed."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from payments import poller, services, webhook_health, webhooks
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
from payments.orders import PaymentBlocked
from payments.vcc.client import client_for
from tests import builders
from tests.conftest import SentTasks
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.usefixtures("sandbox")
State, Status, Kind = Payment.State, WebhookDelivery.Status, PaymentEvent.Kind


def sandboxed_payment(sandbox: Sandbox, **fields: Any) -> Payment:
    """A live payment on a real sandbox session (which sends no webhook of its own: the test
    posts what it wants), its next read far off, so only a delivery makes it due."""
    sandbox.webhooks_off()
    new = client_for("builtin").create_session(
        agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
    )
    fields.setdefault("next_poll_in", timedelta(minutes=5))
    return builders.live_payment(session_guid=new.session_guid, **fields)


def post(body: dict[str, Any]) -> WebhookDelivery:
    response = Client().post(
        "/payments/webhook/vcc",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {webhooks.issue_token()}"},
    )
    assert response.status_code == 200
    return WebhookDelivery.objects.get(pk=response.json()["delivery"])


def forged_accept(payment: Payment) -> dict[str, Any]:
    """A body claiming the session was approved (anyone holding our webhook credentials)."""
    return builders.session_body(payment.session_guid or "", decision="ACCEPT")


def reads(sandbox: Sandbox) -> int:
    return sandbox.stats()["session_gets"]


def round_() -> None:
    poller.run_round(worker="test")


def settled(payment: Payment) -> tuple[Payment, WebhookDelivery]:
    payment.refresh_from_db()
    return payment, WebhookDelivery.objects.get(session_guid=payment.session_guid)


def test_a_delivery_rings_and_the_result_vcc_confirms_is_applied(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    sandbox.complete(payment.session_guid or "", "approved", request_id="GW-77")
    delivery = post(sandbox.api_session(payment.session_guid or ""))
    payment.refresh_from_db()
    # Stored and rung, nothing applied yet: the payment is due at once, a round is queued.
    assert delivery.status == Status.RECEIVED and payment.state == State.IN_PROGRESS
    assert payment.rung_at is not None and payment.next_poll_at <= timezone.now()
    assert sent_tasks.names() == [webhooks.CONFIRM_TASK]
    before = reads(sandbox)
    round_()
    payment, delivery = settled(payment)
    assert reads(sandbox) == before + 1  # one read confirms it
    assert payment.state == State.APPROVED and payment.gateway_reference == "GW-77"
    assert payment.order.status == Order.Status.PAID and not payment.flagged
    assert delivery.status == Status.CONFIRMED and delivery.payment == payment
    assert list(payment.events.values_list("source", "kind")) == [("webhook", Kind.STATE_CHANGED)]
    assert webhook_health.healthy()


def test_many_deliveries_queue_one_round(sandbox: Sandbox, sent_tasks: SentTasks) -> None:
    payments = [sandboxed_payment(sandbox, order=builders.order()) for _ in range(3)]
    for payment in payments:
        sandbox.complete(payment.session_guid or "", "declined")
        post(sandbox.api_session(payment.session_guid or ""))
    assert sent_tasks.names() == [webhooks.CONFIRM_TASK]
    before = reads(sandbox)
    assert poller.run_round(worker="test") == {"finished": 3}
    assert reads(sandbox) == before + 3
    assert set(Payment.objects.values_list("state", flat=True)) == {State.DECLINED}


def test_a_forged_accept_for_an_unkeyed_session_is_not_applied_and_is_flagged(
    sandbox: Sandbox, sent_tasks: SentTasks, supervisor_user: User
) -> None:
    payment = sandboxed_payment(sandbox)  # nobody has keyed anything
    post(forged_accept(payment))
    round_()
    payment, delivery = settled(payment)
    assert payment.state == State.IN_PROGRESS and payment.flagged
    assert payment.order.status == Order.Status.OPEN and payment.order.paid_amount is None
    assert payment.gateway_reference == "" and payment.rung_at is None
    assert delivery.status == Status.CONTRADICTED
    assert "claimed 'Gateway decision ACCEPT" in delivery.error
    assert "VCC says 'not finished" in delivery.error
    event = payment.events.get()
    assert (event.source, event.kind) == ("webhook", Kind.CONTRADICTION)
    assert event.data["delivery"] == delivery.pk
    assert event.data["claimed"]["decision"] == "ACCEPT"
    assert not webhook_health.healthy()  # a forgery confirms nothing
    with pytest.raises(PaymentBlocked, match="still waiting for VCC"):
        services.resolve_payment(
            payment=payment, supervisor=supervisor_user, outcome="approved", reason="forged?"
        )
    # VCC's own word, when it comes, applies as usual.
    sandbox.complete(payment.session_guid or "", "declined")
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now())
    round_()
    payment.refresh_from_db()
    assert payment.state == State.DECLINED and payment.order.status == Order.Status.OPEN


def test_a_claimed_approval_vcc_says_was_declined_applies_the_decline_and_is_flagged(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    sandbox.complete(payment.session_guid or "", "declined")
    post(forged_accept(payment))
    round_()
    payment, delivery = settled(payment)
    assert payment.state == State.DECLINED and payment.flagged
    assert payment.order.status == Order.Status.OPEN
    assert delivery.status == Status.CONTRADICTED
    kinds = list(payment.events.values_list("source", "kind", "to_state"))
    assert kinds == [
        ("webhook", Kind.CONTRADICTION, State.IN_PROGRESS),
        ("poll", Kind.STATE_CHANGED, State.DECLINED),
    ]


def test_a_claimed_approval_vcc_no_longer_has_is_unknown_and_flagged_never_approved(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    sandbox.purge(payment.session_guid or "")
    post(forged_accept(payment))
    round_()
    payment, delivery = settled(payment)
    assert payment.state == State.UNKNOWN and payment.flagged
    assert payment.order.status == Order.Status.OPEN
    assert delivery.status == Status.UNCONFIRMED
    assert "VCC could not confirm" in delivery.error
    note = payment.events.get(kind=Kind.NOTE)
    assert note.data["delivery"] == delivery.pk and note.data["vcc"] is None


def test_vcc_unreachable_keeps_the_delivery_waiting_and_reads_again_soon(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox)
    sandbox.complete(payment.session_guid or "", "approved")
    post(sandbox.api_session(payment.session_guid or ""))
    sandbox.faults(path="get", status_code=503, count=1)
    webhook_health.record_confirmed()  # even while webhooks are healthy
    round_()
    payment, delivery = settled(payment)
    assert delivery.status == Status.RECEIVED and payment.state == State.IN_PROGRESS
    assert payment.rung_at is not None
    assert payment.next_poll_at <= timezone.now() + timedelta(seconds=1)  # the quick schedule
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now())
    round_()
    payment, delivery = settled(payment)
    assert payment.state == State.APPROVED and delivery.status == Status.CONFIRMED


def test_vcc_unreachable_past_the_last_read_leaves_a_claimed_approval_unconfirmed(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    payment = sandboxed_payment(sandbox, started_ago=timedelta(minutes=14, seconds=45))
    sandbox.complete(payment.session_guid or "", "approved")
    post(sandbox.api_session(payment.session_guid or ""))
    sandbox.faults(path="get", status_code=503, count=5)
    round_()
    payment, delivery = settled(payment)
    assert payment.state == State.UNKNOWN and payment.flagged
    assert payment.order.status == Order.Status.OPEN
    assert delivery.status == Status.UNCONFIRMED
