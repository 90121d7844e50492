"""The CSV export of the payment list (POST /admin/payments/payment/export/): the columns
finance needs and no card data, the list's filters and search applied, formula cells defused
(after any separator too) and every cell quoted, an audit record with card numbers scrubbed
from its filters, GET refused, and rows streamed from the database a chunk at a time (memory
does not grow with the number of rows)."""

import csv
import io
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client

from agentdesk.staff.models import AuditEntry
from customers.models import Customer
from payments.models import Order, Payment
from tests import builders

pytestmark = pytest.mark.django_db

URL = "/admin/payments/payment/export/"


def export(supervisor_client: Client, query: str = "") -> list[dict[str, str]]:
    response = supervisor_client.post(URL + query)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    text = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


def test_columns_finance_needs_and_no_card_data(
    supervisor_client: Client, supervisor_user: User
) -> None:
    order = builders.order(
        reference="PAY-CSV1",
        amount=Decimal("1.5"),
        currency="KWD",
        customer=builders.customer(
            first_name="Fatima", last_name="Al-Sabah", email="f@example.com"
        ),
    )
    builders.payment(
        order=order,
        state="approved",
        gateway_decision="ACCEPT",
        gateway_reason_code="100",
        gateway_reference="GW-1",
        result_amount=Decimal("1.5"),
        card_brand="Visa",
        session_guid="guid-csv",
        created_at=datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC),
        finished_at=datetime(2026, 2, 3, 4, 7, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 2, 4, tzinfo=UTC),
        resolved_by=supervisor_user,
        resolution_reason="Settled",
        call_guid="call-guid-1",
        interaction_id="INT-1",
    )
    [row] = export(supervisor_client)
    assert list(row) == [
        "payment_id",
        "order_reference",
        "customer_first_name",
        "customer_last_name",
        "customer_email",
        "amount",
        "currency",
        "state",
        "gateway_decision",
        "gateway_reason_code",
        "gateway_reference",
        "gateway_amount",
        "card_brand",
        "flow",
        "environment",
        "agent_vcc_id",
        "agent_username",
        "started_at_utc",
        "finished_at_utc",
        "vcc_session_guid",
        "resolved_at_utc",
        "resolved_by",
        "resolution_reason",
        "kind",
        "vcc_call_guid",
        "interaction_id",
    ]
    assert row["order_reference"] == "PAY-CSV1"
    assert (row["amount"], row["currency"], row["gateway_amount"]) == ("1.500", "KWD", "1.500")
    assert (row["state"], row["gateway_decision"], row["gateway_reference"]) == (
        "approved",
        "ACCEPT",
        "GW-1",
    )
    assert (row["flow"], row["environment"], row["agent_vcc_id"]) == (
        "Staging cards",
        "staging",
        "1001",
    )
    assert row["started_at_utc"] == "2026-02-03T04:05:06+00:00"
    assert (row["resolved_by"], row["resolution_reason"]) == ("supervisor", "Settled")
    assert (row["kind"], row["vcc_call_guid"], row["interaction_id"]) == (
        "phone",
        "call-guid-1",
        "INT-1",
    )
    forbidden = ("pan", "card_number", "cvv", "cvc", "expiry", "expiration", "security_code")
    assert not [name for name in row if any(word in name for word in forbidden)]


def test_export_follows_the_lists_filters_and_search(supervisor_client: Client) -> None:
    builders.payment(order=builders.order(reference="PAY-YES"), state="approved")
    builders.payment(order=builders.order(reference="PAY-NO"), state="declined")
    assert [r["order_reference"] for r in export(supervisor_client, "?state__exact=approved")] == [
        "PAY-YES"
    ]
    assert [r["order_reference"] for r in export(supervisor_client, "?q=pay-no")] == ["PAY-NO"]
    assert len(export(supervisor_client)) == 2
    page = supervisor_client.get("/admin/payments/payment/?state__exact=approved").content.decode()
    assert 'action="/admin/payments/payment/export/?state__exact=approved"' in page


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(supervisor_client: Client) -> None:
    customer = builders.customer(first_name="=HYPERLINK(1)", last_name="@SUM(A1)")
    builders.payment(order=builders.order(customer=customer))
    [row] = export(supervisor_client)
    assert (row["customer_first_name"], row["customer_last_name"]) == (
        "'=HYPERLINK(1)",
        "'@SUM(A1)",
    )


def test_a_formula_after_a_separator_is_defused_and_every_cell_quoted(
    supervisor_client: Client,
) -> None:
    customer = builders.customer(first_name="Jane", last_name="Doe;=1+1")
    builders.payment(order=builders.order(reference="PAY-SEP", customer=customer))
    [row] = export(supervisor_client)
    assert row["customer_last_name"] == "'Doe;=1+1"
    assert row["customer_first_name"] == "Jane"
    text = b"".join(supervisor_client.post(URL).streaming_content).decode()  # type: ignore[attr-defined]
    assert text.splitlines()[1].startswith('"')
    assert '"Jane"' in text


def test_export_is_a_post(supervisor_client: Client) -> None:
    assert supervisor_client.get(URL).status_code == 405
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENTS_EXPORTED).exists()


def test_each_export_is_in_the_audit_trail(
    supervisor_client: Client, supervisor_user: User
) -> None:
    export(supervisor_client, "?state__exact=approved")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PAYMENTS_EXPORTED)
    assert entry.actor == supervisor_user
    assert entry.details == {"filters": {"state__exact": "approved"}}


def add_payments(count: int) -> None:
    """`count` payments, each on its own order, inserted in bulk."""
    flow = builders.flow(name=f"Bulk {count}", is_default=False)
    agent = builders.agent_user(f"bulk{count}", vcc_agent_id=f"b{count}").agent
    customer = Customer.objects.create(first_name="Bulk", last_name="Caller")
    orders = Order.objects.bulk_create(
        Order(
            reference=f"BULK-{count}-{i}", customer=customer, amount=Decimal("9.99"), currency="GBP"
        )
        for i in range(count)
    )
    Payment.objects.bulk_create(
        (Payment(order=order, flow=flow, agent=agent, state="declined") for order in orders),
        batch_size=2000,
    )


def peak_memory_of_export(supervisor_client: Client) -> tuple[int, int]:
    """(rows, peak bytes allocated) while reading the whole export."""
    response = supervisor_client.post(URL)
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    rows = sum(1 for _ in response.streaming_content) - 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, peak


def test_export_streams_so_memory_does_not_grow_with_the_rows(supervisor_client: Client) -> None:
    add_payments(3_000)
    rows, small = peak_memory_of_export(supervisor_client)
    assert rows == 3_000
    add_payments(27_000)
    rows, large = peak_memory_of_export(supervisor_client)
    assert rows == 30_000
    # Ten times the rows; a list built in memory would need about ten times the memory.
    assert large < small * 2, (small, large)
