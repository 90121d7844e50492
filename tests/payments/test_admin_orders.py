"""Orders (/admin/payments/order/) and customers (/admin/customers/customer/) in admin:
browsable and searchable like the payment history; an order lists its payment attempts and a
customer its orders, in a number of queries that does not grow with them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from payments.models import Order
from tests import builders

pytestmark = pytest.mark.django_db


def test_order_lists_its_payment_attempts(
    supervisor_client: Client, other_agent_user: User
) -> None:
    order = builders.order(reference="PAY-TRIES")
    first = builders.payment(order=order, state="declined", gateway_reference="GW-D")
    second = builders.payment(order=order, state="approved", agent=other_agent_user.agent)
    page = supervisor_client.get(f"/admin/payments/order/{order.pk}/change/").content.decode()
    assert '<span class="state state-declined">Declined</span>' in page
    assert '<span class="state state-approved">Approved</span>' in page
    assert "Agent2 (1002)" in page and "GW-D" in page
    for payment in (first, second):
        assert f"/admin/payments/payment/{payment.pk}/change/" in page


def test_order_list_search_and_filters(supervisor_client: Client) -> None:
    patel = builders.customer(last_name="Patel")
    builders.order(reference="PAY-O1", customer=patel, currency="GBP")
    builders.order(
        reference="PAY-O2",
        customer=builders.customer(last_name="Smith", email="s@example.com", phone="+14155550123"),
        amount=Decimal("3"),
        currency="USD",
        status="paid",
    )

    def listed(query: str) -> list[str]:
        response = supervisor_client.get("/admin/payments/order/" + query)
        assert response.status_code == 200
        return [order.reference for order in response.context["cl"].result_list]

    assert listed("?q=pay-o1") == ["PAY-O1"]
    assert sorted(listed("?q=pay-o")) == ["PAY-O1", "PAY-O2"]
    assert listed("?q=patel") == ["PAY-O1"]
    assert listed("?q=smi") == ["PAY-O2"]
    assert listed("?q=s@example.com") == ["PAY-O2"]
    assert listed("?currency=USD") == ["PAY-O2"]
    assert listed("?status__exact=paid") == ["PAY-O2"]
    assert "3.00 USD" in supervisor_client.get("/admin/payments/order/").content.decode()


def test_order_times_carry_their_zone(supervisor_client: Client) -> None:
    order = builders.order(reference="PAY-WHEN")
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 5, 1, 14, 5, tzinfo=UTC))
    builders.payment(order=order, finished_at=datetime(2026, 5, 1, 14, 9, tzinfo=UTC))
    assert (
        "1 May 2026, 14:05 UTC" in supervisor_client.get("/admin/payments/order/").content.decode()
    )
    page = supervisor_client.get(f"/admin/payments/order/{order.pk}/change/").content.decode()
    assert "1 May 2026, 14:09 UTC" in page


def test_customer_lists_its_orders_and_is_found_by_name(supervisor_client: Client) -> None:
    customer = builders.customer(first_name="Yuki", last_name="Tanaka", crm_id="CRM-9")
    builders.order(reference="PAY-C1", customer=customer)
    builders.order(reference="PAY-C2", customer=customer)
    builders.customer(first_name="John", last_name="Smith")
    page = supervisor_client.get(
        f"/admin/customers/customer/{customer.pk}/change/"
    ).content.decode()
    assert "PAY-C1" in page and "PAY-C2" in page
    for term in ("Tanaka", "yuki tanaka", "CRM-9"):
        response = supervisor_client.get("/admin/customers/customer/", {"q": term})
        assert [c.pk for c in response.context["cl"].result_list] == [customer.pk], term


def test_order_page_queries_do_not_grow_with_its_attempts(
    supervisor_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    other_agent_user: User,
) -> None:
    order = builders.order()
    builders.payment(order=order, state="declined")
    url = f"/admin/payments/order/{order.pk}/change/"
    with CaptureQueriesContext(connection) as one:
        assert supervisor_client.get(url).status_code == 200
    production = builders.flow(name="Live", environment="production", is_default=False)
    for _ in range(20):
        builders.payment(
            order=order, state="declined", flow=production, agent=other_agent_user.agent
        )
    with django_assert_max_num_queries(len(one)):
        assert supervisor_client.get(url).status_code == 200
