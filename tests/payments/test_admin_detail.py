"""A payment's page in admin (/admin/payments/payment/<id>/change/): the order, the customer
and the whole timeline of events and webhook deliveries in order, read-only, in a number of
queries that does not grow with the timeline."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from payments.models import PaymentEvent
from tests import builders

pytestmark = pytest.mark.django_db


def url(payment_id: int) -> str:
    return f"/admin/payments/payment/{payment_id}/change/"


def test_shows_the_order_the_customer_and_the_gateways_answer(supervisor_client: Client) -> None:
    customer = builders.customer(first_name="Priya", last_name="Patel", email="priya@example.com")
    order = builders.order(reference="PAY-DETAIL", customer=customer, description="Magazine")
    payment = builders.payment(
        order=order,
        state="approved",
        session_guid="f00dfeed-0000-4000-8000-000000000001",
        gateway_decision="ACCEPT",
        gateway_reason_code="100",
        gateway_reference="GW-4242",
        card_brand="Visa",
    )
    page = supervisor_client.get(url(payment.pk)).content.decode()
    for text in [
        f'href="/admin/payments/order/{order.pk}/change/">PAY-DETAIL</a>',
        f'href="/admin/customers/customer/{customer.pk}/change/">Priya Patel</a>',
        "priya@example.com",
        "12 Acacia Avenue, Leeds, LS1 4AP, GB",
        "12.40 GBP",
        "Open: Magazine",
        "f00dfeed-0000-4000-8000-000000000001",
        "ACCEPT",
        "GW-4242",
        "Visa",
    ]:
        assert text in page, text


def test_timeline_lists_events_and_deliveries_oldest_first(
    supervisor_client: Client, supervisor_user: User
) -> None:
    payment = builders.payment(state="approved", session_guid="guid-1")
    builders.payment_event(
        payment, source="agent", from_state="", to_state="starting", message="Started by agent"
    )
    builders.webhook_delivery(payment, status="processed")
    builders.payment_event(payment, source="webhook", message="Gateway said ACCEPT")
    builders.payment_event(
        payment,
        source="supervisor",
        kind="note",
        to_state="",
        message="Checked",
        actor=supervisor_user,
    )
    times = [datetime(2026, 5, 1, 10, minute, tzinfo=UTC) for minute in range(4)]
    events = list(PaymentEvent.objects.filter(payment=payment).order_by("pk"))
    for event, at in zip(events, [times[0], times[2], times[3]], strict=True):
        PaymentEvent.objects.filter(pk=event.pk).update(created_at=at)
    payment.deliveries.update(received_at=times[1])
    page = supervisor_client.get(url(payment.pk)).content.decode()
    order_seen = [
        page.index(text)
        for text in ("Started by agent", "Received, processed", "Gateway said ACCEPT", "Checked")
    ]
    assert order_seen == sorted(order_seen)
    assert "2026-05-01 10:00:00" in page and "supervisor</td>" in page


def test_page_is_read_only(supervisor_client: Client) -> None:
    payment = builders.payment()
    page = supervisor_client.get(url(payment.pk)).content.decode()
    assert "View payment" in page
    for control in ('name="_save"', 'name="state"', "<select", "<textarea", "Delete"):
        assert control not in page, control


def test_resolve_button_only_for_a_payment_waiting_for_a_supervisor(
    supervisor_client: Client,
) -> None:
    unknown = builders.payment(state="unknown", message="VCC kept the session past 15 minutes")
    approved = builders.payment(state="approved")
    page = supervisor_client.get(url(unknown.pk)).content.decode()
    banner = page[page.index('class="needs-supervisor"') :]
    assert "Outcome unknown: VCC kept the session past 15 minutes." in banner
    assert f'href="/admin/payments/payment/{unknown.pk}/resolve/"' in banner
    assert page.index("Resolve this payment") < page.index('class="timeline"')
    page = supervisor_client.get(url(approved.pk)).content.decode()
    assert "Resolve this payment" not in page and "needs-supervisor" not in page


def test_administrator_sees_why_but_no_resolve_button(administrator_user: User) -> None:
    unknown = builders.payment(state="unknown")
    page = builders.signed_in(administrator_user).get(url(unknown.pk)).content.decode()
    assert "Waiting for a supervisor." in page and "Resolve this payment" not in page


def test_flag_shows_only_when_flagged_with_its_reason(supervisor_client: Client) -> None:
    plain = builders.payment(state="declined")
    flagged = builders.payment(state="approved", flagged=True)
    builders.payment_event(
        flagged,
        source="webhook",
        kind="contradiction",
        to_state="",
        message="Contradictory result: DECLINE after ACCEPT",
    )
    page = supervisor_client.get(url(plain.pk)).content.decode()
    assert "Flagged" not in page and "contradictory result arrived" not in page.lower()
    assert "Nothing to resolve." in page
    page = supervisor_client.get(url(flagged.pk)).content.decode()
    assert "Flagged: Contradictory result: DECLINE after ACCEPT." in page


def test_a_resolved_payment_says_who_resolved_it_when_and_why(
    supervisor_client: Client, supervisor_user: User
) -> None:
    payment = builders.payment(
        state="approved",
        resolved_at=datetime(2026, 5, 1, 14, 5, tzinfo=UTC),
        resolved_by=supervisor_user,
        resolution_reason="Bank statement shows the charge",
    )
    page = supervisor_client.get(url(payment.pk)).content.decode()
    assert (
        "Resolved by supervisor on 1 May 2026, 14:05 UTC: Bank statement shows the charge" in page
    )
    assert "needs-supervisor" not in page


def test_timeline_sits_right_after_the_payment_and_times_carry_the_zone(
    supervisor_client: Client,
) -> None:
    payment = builders.payment(state="approved")
    builders.payment_event(payment, source="agent", message="Started by agent")
    page = supervisor_client.get(url(payment.pk)).content.decode()
    assert page.index('class="timeline"') < page.index("The gateway&#x27;s answer")
    assert page.index('class="timeline"') < page.index("12 Acacia Avenue")
    assert "<th>When</th>" in page and " UTC</td>" in page


def test_query_count_does_not_grow_with_the_timeline(
    supervisor_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    supervisor_user: User,
) -> None:
    payment = builders.payment(resolved_by=supervisor_user)
    builders.payment_event(payment, actor=supervisor_user)
    builders.webhook_delivery(payment)
    with CaptureQueriesContext(connection) as short:
        assert supervisor_client.get(url(payment.pk)).status_code == 200
    for _ in range(30):
        builders.payment_event(payment, actor=supervisor_user)
        builders.webhook_delivery(payment)
    with django_assert_max_num_queries(len(short)):
        assert supervisor_client.get(url(payment.pk)).status_code == 200
