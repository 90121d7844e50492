"""Fill the payments' currency and environment columns left empty (docs/deploy.md): run after
a deploy that added them, once the previous release's processes have stopped. Safe to run
again; it never locks the table (payments/backfill.py)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from payments.backfill import BATCH, fill_payment_columns
from payments.models import Order, Payment, PaymentFlow


class Command(BaseCommand):
    help = "Fill the payments' currency and environment columns where they are empty."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch", type=int, default=BATCH, help=f"Payments per transaction ({BATCH:,})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def report(filled: int, last_id: int) -> None:
            self.stdout.write(f"  {filled:,} payments filled (ids up to {last_id:,}) ...")

        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch must be 1 or more.")
        filled = fill_payment_columns(Payment, Order, PaymentFlow, batch=batch, report=report)
        self.stdout.write(self.style.SUCCESS(f"{filled:,} payments filled; none is left empty."))
