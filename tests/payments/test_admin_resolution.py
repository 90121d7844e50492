"""A supervisor resolves a payment (/admin/payments/payment/<id>/resolve/): unknown or flagged
payments get a recorded outcome and reason that releases the order, through
services.resolve_payment, with an audit record; nothing else can be resolved."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.staff.models import AuditEntry
from payments.models import Payment, PaymentEvent
from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(supervisor_user: User) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(supervisor_user)
    return client


def resolve(client: Client, payment: Payment, outcome: str, reason: str) -> str:
    response = client.post(
        f"/admin/payments/payment/{payment.pk}/resolve/",
        {"outcome": outcome, "reason": reason},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_unknown_payment_resolved_as_approved_marks_the_order_paid(
    client: Client, supervisor_user: User
) -> None:
    payment = builders.payment(state="unknown")
    page = resolve(client, payment, "approved", "Gateway report shows it settled")
    payment.refresh_from_db()
    assert payment.state == "approved" and not payment.flagged
    assert payment.resolved_by == supervisor_user and payment.resolved_at is not None
    assert payment.resolution_reason == "Gateway report shows it settled"
    assert payment.order.status == "paid"
    assert "resolved as approved" in page
    event = PaymentEvent.objects.get(payment=payment)
    assert (event.source, event.from_state, event.to_state, event.actor) == (
        "supervisor",
        "unknown",
        "approved",
        supervisor_user,
    )


def test_unknown_payment_not_taken_opens_the_order_for_a_new_attempt(client: Client) -> None:
    payment = builders.payment(state="unknown")
    resolve(client, payment, "not_taken", "Caller's bank shows nothing")
    payment.refresh_from_db()
    assert payment.state == "abandoned"
    assert payment.order.status == "open"
    # The order is released: a new attempt may be made on it.
    builders.payment(order=payment.order, state="in_progress")


@pytest.mark.parametrize(
    ("outcome", "state"), [("approved", "approved"), ("not_taken", "declined")]
)
def test_flagged_contradiction_is_settled_either_way(
    client: Client, outcome: str, state: str
) -> None:
    payment = builders.payment(state="approved", flagged=True)
    resolve(client, payment, outcome, "Checked with the gateway")
    payment.refresh_from_db()
    assert (payment.state, payment.flagged) == (state, False)


def test_resolution_is_in_the_audit_trail(client: Client, supervisor_user: User) -> None:
    payment = builders.payment(state="unknown", order=builders.order(reference="PAY-AUDIT"))
    resolve(client, payment, "not_taken", "No money moved")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PAYMENT_RESOLVED)
    assert entry.actor == supervisor_user and entry.ip_address == "192.0.2.10"
    assert entry.details == {
        "payment_id": payment.pk,
        "order": "PAY-AUDIT",
        "outcome": "not_taken",
        "reason": "No money moved",
        "from_state": "unknown",
        "to_state": "abandoned",
    }
    page = client.get("/admin/agentdesk/auditentry/").content.decode()
    assert "Payment resolved" in page and "PAY-AUDIT" in page


def test_a_reason_is_required(client: Client) -> None:
    payment = builders.payment(state="unknown")
    page = resolve(client, payment, "approved", "   ")
    assert "This field is required." in page
    payment.refresh_from_db()
    assert payment.state == "unknown"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENT_RESOLVED).exists()


def test_a_payment_with_a_known_outcome_cannot_be_resolved(client: Client) -> None:
    payment = builders.payment(state="declined")
    page = client.get(f"/admin/payments/payment/{payment.pk}/resolve/").content.decode()
    assert "This payment needs no resolution." in page
    page = resolve(client, payment, "approved", "Wishful thinking")
    assert "nothing to resolve" in page
    payment.refresh_from_db()
    assert payment.state == "declined" and payment.resolved_at is None
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENT_RESOLVED).exists()


def test_resolving_twice_records_one_decision(client: Client) -> None:
    payment = builders.payment(state="unknown")
    resolve(client, payment, "approved", "First look")
    page = resolve(client, payment, "not_taken", "Second look")
    assert "nothing to resolve" in page
    payment.refresh_from_db()
    assert payment.state == "approved" and payment.resolution_reason == "First look"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENT_RESOLVED).count() == 1
