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
    unknown = builders.payment(state="unknown")
    approved = builders.payment(state="approved")
    assert "Resolve…" in supervisor_client.get(url(unknown.pk)).content.decode()
    assert "Resolve…" not in supervisor_client.get(url(approved.pk)).content.decode()


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
