"""The order's amount and currency and the flow's environment on the payment row, so the
supervisors' filters read one index and their totals one table (issue 17). Migration 0011
fills the existing rows and builds the indexes.

The two text columns are added with a database default of '' that stays: processes of the
previous release, still running during a rolling deploy (docs/deploy.md), insert payments
without them and must not fail. A column with a constant default rewrites nothing in
PostgreSQL 11+ and, written this way, SQLite adds it in place too (Django's own AddField would
rebuild SQLite's table, and with it the PostgreSQL-only indexes of 0009)."""

from django.db import migrations, models

TABLE = "payments_payment"


def text_column(name: str, length: int) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"ALTER TABLE {TABLE} ADD COLUMN {name} varchar({length}) DEFAULT '' NOT NULL",
        reverse_sql=f"ALTER TABLE {TABLE} DROP COLUMN {name}",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_admin_prefix_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="asked_amount",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                editable=False,
                max_digits=18,
                null=True,
                verbose_name="amount asked",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[text_column("currency", 3), text_column("environment", 16)],
            state_operations=[
                migrations.AddField(
                    model_name="payment",
                    name="currency",
                    field=models.CharField(blank=True, default="", editable=False, max_length=3),
                ),
                migrations.AddField(
                    model_name="payment",
                    name="environment",
                    field=models.CharField(
                        blank=True,
                        choices=[("staging", "Staging"), ("production", "Production")],
                        default="",
                        editable=False,
                        max_length=16,
                    ),
                ),
            ],
        ),
    ]
