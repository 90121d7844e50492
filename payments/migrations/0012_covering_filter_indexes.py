"""Indexes the supervisors' history reads alone (index-only scans) at 10,000,000 payments
(issue 17): a filter's first 10,001 matches (the list's count, its pages and dates) come from
the index without a visit to each row. The payment's id joins the kind index; currency and
environment together get one; the flagged work queue's index carries what its totals sum; the
name search's walk from customers to their orders and payments reads two indexes alone.
Built and dropped CONCURRENTLY (no lock on the table); PostgreSQL only."""

from django.db import migrations, models
from django.db.models import Q

from agentdesk.shared.migrations import (
    AddIndexConcurrentlyOnPostgres,
    RemoveIndexConcurrentlyOnPostgres,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0011_payment_filter_indexes"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                fields=["kind", "-created_at"], include=["id"], name="payment_kind_ids"
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="payment", name="payment_kind_recent"),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                fields=["environment", "currency", "-created_at"],
                include=["id"],
                name="payment_env_currency_ids",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                fields=["-created_at"],
                condition=Q(flagged=True),
                include=["id", "state", "currency", "asked_amount"],
                name="payment_flagged_totals",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="payment", name="payment_flagged_recent"),
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["customer"], include=["id"], name="order_customer_ids"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                fields=["order"], include=["id", "created_at"], name="payment_order_ids"
            ),
        ),
    ]
