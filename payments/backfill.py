"""Fill the payment columns copied from the order and the flow (amount, currency, environment)
on rows written before they existed, or by a web or worker process still running the previous
release during a deploy: in batches of ids, each its own short transaction, so a table of
millions is never locked and the app keeps taking payments meanwhile. Safe to run again: it
touches only rows still empty. Used by migration 0011 and by `manage.py fill_payment_columns`."""

from collections.abc import Callable
from typing import Any

from django.db.models import Max, Min, OuterRef, Subquery

BATCH = 20_000


def fill_payment_columns(
    payment_model: Any,
    order_model: Any,
    flow_model: Any,
    batch: int = BATCH,
    report: Callable[[int, int], None] | None = None,
) -> int:
    """Fill `asked_amount`, `currency` and `environment` where empty (the currency tells: it is
    never empty once filled); returns how many rows were filled.
    Takes the models as arguments so the migration can pass its historical ones."""
    bounds = payment_model.objects.filter(currency="").aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    order = order_model.objects.filter(pk=OuterRef("order_id"))
    environment = flow_model.objects.filter(pk=OuterRef("flow_id")).values("environment")[:1]
    filled = 0
    for start in range(bounds["low"], bounds["high"] + 1, batch):
        filled += (
            payment_model.objects.filter(pk__gte=start, pk__lt=start + batch)
            .filter(currency="")
            .update(
                asked_amount=Subquery(order.values("amount")[:1]),
                currency=Subquery(order.values("currency")[:1]),
                environment=Subquery(environment),
            )
        )
        if report:
            report(filled, bounds["high"])
    return filled
