"""The supervisors' prefix search (payments.selectors.payment_search, order_search and
customers.selectors.customer_search) is answered from indexes on PostgreSQL: the plan uses the
text_pattern_ops indexes of payments 0009 and the trigram indexes of customers 0004, never a
scan of the whole table.

Sequential scans are priced out so the plan shows what the planner can use at any size (on a
table of a few rows it would rightly read the table)."""

from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from customers.models import Customer
from customers.selectors import customer_search
from payments.models import Order, Payment
from payments.selectors import payment_search
from tests import builders
from tests.conftest import require_service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_sequential_scans() -> Iterator[None]:
    require_service("PostgreSQL (DATABASE_URL)", connection.vendor == "postgresql")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        yield


def test_an_order_reference_prefix_reads_the_pattern_index() -> None:
    plan = Order.objects.filter(reference__istartswith="DEMO-10").explain()
    assert "order_reference_prefix" in plan, plan


def test_a_gateway_reference_prefix_reads_the_pattern_index() -> None:
    plan = Payment.objects.filter(gateway_reference__istartswith="GW-98").explain()
    assert "payment_gateway_ref_prefix" in plan, plan


def test_a_name_prefix_reads_the_name_indexes() -> None:
    # The trigram indexes or the B-tree ones on the upper-cased names (which serve a prefix
    # when the database's collation allows): either way an index, never the table.
    plan = Customer.objects.filter(customer_search("Pri")).order_by().explain()
    index_lines = [line for line in plan.splitlines() if "Index" in line]
    assert any("first_name" in line for line in index_lines), plan
    assert any("last_name" in line for line in index_lines), plan
    assert "Seq Scan" not in plan, plan


def test_the_whole_payment_search_scans_no_table() -> None:
    builders.payment(order=builders.order(reference="DEMO-1001"), gateway_reference="GW-1")
    for term in ("DEMO-10", "Priya Pat", "GW-1"):
        plan = Payment.objects.filter(payment_search(term)).explain()
        assert "Seq Scan" not in plan, (term, plan)
