"""A gateway reference shaped like a card number (16 digits passing Luhn, as an Adyen
pspReference often is) through POST /payments/webhook/vcc (and the read of the session that
confirms it) and the poller's GET of the session, in both orders, against the sandbox over
HTTP: kept intact, the delivery confirmed, never a contradiction."""

import json

import pytest
from django.test import Client

from payments import poller, webhooks
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
from payments.redaction import REDACTED
from payments.vcc.client import client_for
from tests import builders
from tests.sandbox_fixtures import Sandbox

# Luhn-valid: the old redaction took it for a card number.
REFERENCE = "8815329842815475"
Kind = PaymentEvent.Kind


def sandboxed_payment(sandbox: Sandbox) -> Payment:
    """A live payment on a real sandbox session, finished approved with REFERENCE."""
    sandbox.webhooks_off()  # the test posts the webhook itself, in the order it wants
    new = client_for("builtin").create_session(
        agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
    )
    payment = builders.live_payment(session_guid=new.session_guid)
    sandbox.complete(new.session_guid, "approved", request_id=REFERENCE)
    return payment


def post_webhook(payment: Payment, sandbox: Sandbox) -> WebhookDelivery:
    assert payment.session_guid
    body = json.dumps(sandbox.api_session(payment.session_guid))
    response = Client().post(
        "/payments/webhook/vcc",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {webhooks.issue_token()}"},
    )
    assert response.status_code == 200
    return confirm(response.json()["delivery"])


def confirm(delivery_id: int) -> WebhookDelivery:
    """What the worker does with a delivery: the poller's round reads a live payment's
    session; webhooks.process reads one already settled."""
    poller.run_round(worker="test")
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.RECEIVED:
        delivery = webhooks.process(delivery_id=delivery_id)
    return delivery


def poll(payment: Payment) -> None:
    assert poller.read_now(payment_id=payment.pk) == {"finished": 1}


def assert_applied_once_with_reference(payment: Payment) -> None:
    payment.refresh_from_db()
    assert payment.state == Payment.State.APPROVED
    assert payment.gateway_reference == REFERENCE
    assert not payment.flagged
    assert payment.order.status == Order.Status.PAID
    assert [kind for (kind,) in payment.events.values_list("kind")].count(Kind.CONTRADICTION) == 0


@pytest.mark.django_db(transaction=True)
def test_webhook_first_keeps_the_reference_and_its_repeat_changes_nothing(
    sandbox: Sandbox,
) -> None:
    payment = sandboxed_payment(sandbox)
    delivery = post_webhook(payment, sandbox)
    assert delivery.status == WebhookDelivery.Status.CONFIRMED
    assert REFERENCE in delivery.body  # a reference key's value is not redacted
    post_webhook(payment, sandbox)
    assert_applied_once_with_reference(payment)
    kinds = list(payment.events.values_list("source", "kind"))
    assert kinds == [("webhook", Kind.STATE_CHANGED), ("webhook", Kind.REPEATED)]


@pytest.mark.django_db(transaction=True)
def test_poll_first_then_the_webhook_is_a_repeat_not_a_contradiction(sandbox: Sandbox) -> None:
    payment = sandboxed_payment(sandbox)
    poll(payment)
    assert post_webhook(payment, sandbox).status == WebhookDelivery.Status.CONFIRMED
    assert_applied_once_with_reference(payment)
    kinds = list(payment.events.values_list("source", "kind"))
    assert kinds == [("poll", Kind.STATE_CHANGED), ("webhook", Kind.REPEATED)]


@pytest.mark.django_db(transaction=True)
def test_a_card_number_beside_the_reference_is_still_redacted(
    sandbox: Sandbox, client: Client
) -> None:
    payment = sandboxed_payment(sandbox)
    assert payment.session_guid
    body = sandbox.api_session(payment.session_guid)
    body["paymentResultData"]["note"] = "keyed 4111 1111 1111 1111"
    body["paymentResultData"]["cvn"] = "737"
    response = client.post(
        "/payments/webhook/vcc",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {webhooks.issue_token()}"},
    )
    delivery = confirm(response.json()["delivery"])
    stored = json.loads(delivery.body)["paymentResultData"]
    # The security code by its value (a random GUID elsewhere in the body may hold "737").
    assert stored["cvn"] == REDACTED and stored["note"] == f"keyed {REDACTED}"
    assert "4111" not in delivery.body and REFERENCE in delivery.body
    facts = json.dumps(delivery.facts)  # the parsed, card-free facts: no card field, no free text
    assert "4111" not in facts and "cvn" not in facts.lower() and "keyed" not in facts
    assert_applied_once_with_reference(payment)
