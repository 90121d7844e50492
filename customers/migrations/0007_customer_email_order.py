"""The supervisors' search by the start of an email: a B-tree range on the upper-cased email
compared byte by byte (COLLATE "C"), where the trigram index reads every entry holding the
common trigrams of "bench..." or "john..." (96 ms at 1,000,000 customers, issue 17). Built
CONCURRENTLY; PostgreSQL only."""

from django.db import migrations, models

from agentdesk.shared.migrations import AddIndexConcurrentlyOnPostgres
from customers.names import ByteUpper


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0006_desk_search_name_order_indexes"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="customer",
            index=models.Index(ByteUpper("email"), name="customer_email_order"),
        ),
    ]
