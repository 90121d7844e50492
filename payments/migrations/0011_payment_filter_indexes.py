"""Fill the new currency and environment columns in batches (payments/backfill.py: each batch
its own transaction, no lock on the whole table), then build the supervisors' filter and work
queue indexes with CREATE INDEX CONCURRENTLY (so outside a transaction), one of them a GIN index
over every sidebar filter's column (the btree_gin extension, shipped with PostgreSQL and
trusted: the database owner may create it). On a large table the
fill takes minutes (docs/deploy.md); `manage.py fill_payment_columns` catches rows written by
the previous release while it ran."""

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models
from django.db.models import Q

from agentdesk.shared.migrations import AddIndexConcurrentlyOnPostgres
from payments.backfill import fill_payment_columns


def fill(apps: Any, schema_editor: Any) -> None:
    fill_payment_columns(
        apps.get_model("payments", "Payment"),
        apps.get_model("payments", "Order"),
        apps.get_model("payments", "PaymentFlow"),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0010_payment_currency_environment"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(fields=["currency", "-created_at"], name="payment_currency_recent"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(fields=["environment", "-created_at"], name="payment_env_recent"),
        ),
        BtreeGinExtension(),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=GinIndex(
                fields=["agent", "state", "kind", "currency"],
                name="payment_filters",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                fields=["-created_at"],
                condition=Q(state="unknown") | Q(flagged=True),
                # Its counts read the index alone.
                include=["state", "flagged"],
                name="payment_waiting_recent",
            ),
        ),
    ]
