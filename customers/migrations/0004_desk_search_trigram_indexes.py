"""Trigram indexes (and one on the CRM id in any case) for the desk's as-you-type search,
built without locking the customers table (CREATE INDEX CONCURRENTLY, so outside a
transaction). PostgreSQL only: elsewhere (SQLite in a
newcomer's checkout) the operations change the migration state and nothing else."""

import django.db.models.functions.text
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models import F

from agentdesk.shared.migrations import AddIndexConcurrentlyOnPostgres


def trigram_index(field: str, name: str, *, upper: bool = True) -> AddIndexConcurrentlyOnPostgres:
    expression = django.db.models.functions.text.Upper(field) if upper else F(field)
    return AddIndexConcurrentlyOnPostgres(
        model_name="customer",
        index=GinIndex(OpClass(expression, name="gin_trgm_ops"), name=name),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0003_phone_help_text"),
    ]

    operations = [
        TrigramExtension(),
        trigram_index("first_name", "customer_first_name_trgm"),
        trigram_index("last_name", "customer_last_name_trgm"),
        trigram_index("email", "customer_email_trgm"),
        trigram_index("phone", "customer_phone_trgm", upper=False),
        AddIndexConcurrentlyOnPostgres(
            model_name="customer",
            index=models.Index(
                django.db.models.functions.text.Upper("crm_id"), name="customer_crm_id_upper"
            ),
        ),
    ]
