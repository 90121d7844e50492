"""`manage.py fill_payment_columns` (and migration 0011, which runs the same fill): payments
written before the amount, currency and environment columns existed, or by the previous
release during a deploy (its inserts, without the columns, succeed), get them from their order
and flow, and the supervisors' filters find them."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from payments.models import Payment
from tests import builders

pytestmark = pytest.mark.django_db


def insert_as_the_previous_release(payment: Payment) -> int:
    """A copy of `payment` inserted as code that knows nothing of the new columns does: a
    rolling deploy runs it beside the migrated schema, and its inserts must not fail."""
    columns = ["order_id", "flow_id", "agent_id", "state", "kind", "link_phone"]
    columns += ["interaction_id", "call_guid", "flow_rejected", "provider_url", "created_at"]
    columns += ["poll_count", "request_id", "gateway_decision", "gateway_reason_code"]
    columns += ["gateway_reference", "card_brand", "message", "flagged", "resolution_reason"]
    values = [getattr(payment, Payment._meta.get_field(c).attname) for c in columns[:3]]
    values += ["declined", "phone", "", "", "", False, "", payment.created_at, 0, "", "", ""]
    values += ["", "", "", False, ""]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO payments_payment ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            values,
        )
    return Payment.objects.order_by("-pk").values_list("pk", flat=True)[0]


def test_rows_left_empty_are_filled_and_found_by_the_filters(supervisor_client: Client) -> None:
    live = builders.flow(name="Live", environment="production", is_default=False)
    made = [
        builders.payment(order=builders.order(reference=f"OLD-{i}", currency=currency), flow=flow)
        for i, (currency, flow) in enumerate([("KWD", live), ("GBP", builders.flow())])
    ]
    old = [insert_as_the_previous_release(payment) for payment in made]
    Payment.objects.filter(pk__in=[p.pk for p in made]).delete()
    assert set(Payment.objects.values_list("currency", "environment", "asked_amount")) == {
        ("", "", None)
    }
    page = supervisor_client.get("/admin/payments/payment/?currency=KWD")
    assert "OLD-0" not in page.content.decode()

    out = StringIO()
    call_command("fill_payment_columns", stdout=out, batch=1)
    assert "2 payments filled" in out.getvalue()
    filled = {
        p.order.reference: (p.currency, p.environment, p.asked_amount)
        for p in Payment.objects.filter(pk__in=old)
    }
    assert filled == {
        "OLD-0": ("KWD", "production", Decimal("12.40")),
        "OLD-1": ("GBP", "staging", Decimal("12.40")),
    }
    page = supervisor_client.get("/admin/payments/payment/?currency=KWD&environment=production")
    assert "OLD-0" in page.content.decode() and "OLD-1" not in page.content.decode()

    again = StringIO()
    call_command("fill_payment_columns", stdout=again)
    assert "0 payments filled" in again.getvalue()


def test_a_payment_written_in_bulk_gets_its_columns_too() -> None:
    order = builders.order(currency="JPY")
    flow = builders.flow(environment="production")
    agent = builders.payment().agent
    (made,) = Payment.objects.bulk_create([Payment(order=order, flow=flow, agent=agent)])
    made.refresh_from_db()
    assert (made.currency, made.environment, made.asked_amount) == (
        "JPY",
        "production",
        order.amount,
    )
