"""Indexes for the supervisors' search by the start of an order or gateway reference, in any
case (LIKE 'DEMO-1%' on UPPER(...) needs text_pattern_ops), built without locking the orders
or payments table (CREATE INDEX CONCURRENTLY, so outside a transaction). PostgreSQL only:
elsewhere (SQLite in a newcomer's checkout) the operations change the migration state only."""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models.functions import Upper

from agentdesk.shared.migrations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0008_payment_links_and_calls"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(
                OpClass(Upper("reference"), name="text_pattern_ops"),
                name="order_reference_prefix",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(
                OpClass(Upper("gateway_reference"), name="text_pattern_ops"),
                name="payment_gateway_ref_prefix",
            ),
        ),
    ]
