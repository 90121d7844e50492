"""The desk's name search read in the order it shows: B-tree indexes on the upper-cased names
compared byte by byte (COLLATE "C"), so a name prefix is a range read in order and cut at the
page's length. Built without locking the customers table (CONCURRENTLY); PostgreSQL only."""

from django.db import migrations, models

from agentdesk.shared.migrations import AddIndexConcurrentlyOnPostgres
from customers.names import ByteUpper


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0005_phones_in_e164"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="customer",
            index=models.Index(
                ByteUpper("last_name"),
                ByteUpper("first_name"),
                "id",
                name="customer_name_order",
                # The names themselves too: a filter on the other words of a name is read
                # from the index alone (an index-only scan).
                include=["last_name", "first_name"],
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="customer",
            index=models.Index(ByteUpper("first_name"), name="customer_first_name_order"),
        ),
    ]
