"""The reads behind the supervisors' pages: search, totals, currencies in use, the work queue
and a payment's timeline. Every query here is answered from an index, at any table size."""

import operator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from agentdesk.shared.money import format_major
from customers.selectors import PREFIX_MIN, matching_customers
from payments.models import Order, Payment, PaymentEvent, WebhookDelivery


def any_of(*branches: tuple[QuerySet[Any], Q]) -> Q:
    """The OR of the filters whose probe finds a row, or a filter that matches nothing.

    A search term is usually one kind of thing (a reference, a name, a GUID): probing each
    branch first (an indexed EXISTS) and keeping only those that match lets the database
    answer from one index. An OR across tables would make it read every row.
    """
    kept = [match for probe, match in branches if finds_a_row(probe)]
    return reduce(operator.or_, kept) if kept else Q(pk__in=[])


# How many rows a probe asks for. Asked for one (EXISTS, LIMIT 1), PostgreSQL may bet on
# meeting a match early in a read of the whole table and lose when there is none: 500 ms on a
# million customers for a GUID typed into the search. Asked for more rows than it expects to
# match, it plans to find them all, from the indexes, and stops at the first page of them.
PROBE_ROWS = 1000


def finds_a_row(rows: QuerySet[Any]) -> bool:
    return bool(list(rows.order_by().values_list("pk", flat=True)[:PROBE_ROWS]))


def reference_match(field: str, term: str) -> Q:
    """`field` starts with `term` in any case (from PREFIX_MIN characters on; shorter terms
    match whole values): served by the UPPER(...) text_pattern_ops indexes (payments 0007)."""
    lookup = "istartswith" if len(term) >= PREFIX_MIN else "iexact"
    return Q(**{f"{field}__{lookup}": term})


def order_search(term: str, path: str = "") -> Q:
    """Orders whose reference starts with `term` (any case), or whose customer matches it;
    with `path` ("order__"), the rows whose order does, through a join: the customers' set is
    then the only subquery, which PostgreSQL can walk customer by customer (their orders,
    their payments) and stop at a LIMIT, where a set of orders would be built whole first."""
    customers = matching_customers(term)
    by_reference = reference_match("reference", term)
    return any_of(
        (Order.objects.filter(by_reference), reference_match(f"{path}reference", term)),
        (customers, Q(**{f"{path}customer__in": customers.order_by().values("pk")})),
    )


def payment_search(term: str) -> Q:
    """Payments whose order or customer matches `term`, whose gateway reference starts with
    `term`, or whose VCC session GUID, callGuid or interaction id is `term`."""
    by_order = order_search(term, "order__")
    guids = {term, term.lower(), term.upper()}
    # One probe for the payment's own identifiers: each column indexed, one table.
    own = Q(session_guid__in=guids) | Q(call_guid__in=guids) | Q(interaction_id=term)
    by_gateway = reference_match("gateway_reference", term)
    return any_of(
        (Payment.objects.filter(by_order), by_order),
        (Payment.objects.filter(own), own),
        (Payment.objects.filter(by_gateway), by_gateway),
    )


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    amount: Decimal
    approved_count: int
    approved_amount: Decimal

    @property
    def amount_text(self) -> str:
        return format_major(self.amount, self.currency)

    @property
    def approved_amount_text(self) -> str:
        return format_major(self.approved_amount, self.currency)


def totals_by_currency(payments: QuerySet[Payment]) -> list[CurrencyTotal]:
    """Number and sum of the amounts asked of `payments`, all and approved, per currency (the
    payment's own copy of its order's: one table read)."""
    approved = Q(state=Payment.State.APPROVED)
    rows = (
        payments.order_by()
        .values("currency")
        .annotate(
            count=Count("pk"),
            asked=Sum("asked_amount"),
            approved_count=Count("pk", filter=approved),
            approved_asked=Sum("asked_amount", filter=approved),
        )
        .order_by("currency")
    )
    return [
        CurrencyTotal(
            currency=row["currency"],
            count=row["count"],
            amount=row["asked"] or Decimal(0),
            approved_count=row["approved_count"],
            approved_amount=row["approved_asked"] or Decimal(0),
        )
        for row in rows
    ]


def currencies_in_use() -> list[str]:
    """The distinct currencies of all orders, found by skipping through the currency index
    (one probe per currency) rather than reading every order."""
    table = connection.ops.quote_name(Order._meta.db_table)
    sql = f"""
        WITH RECURSIVE used(code) AS (
            SELECT MIN(currency) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(currency) FROM {table} WHERE currency > used.code)
            FROM used WHERE used.code IS NOT NULL
        )
        SELECT code FROM used WHERE code IS NOT NULL
    """  # noqa: S608  (no user input: the table name comes from the model)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [code for (code,) in cursor.fetchall()]


def needing_a_supervisor() -> Q:
    """Payments of unknown outcome, or with a contradictory result flagged."""
    return Q(state=Payment.State.UNKNOWN) | Q(flagged=True)


def work_queue_counts() -> dict[str, int]:
    """How many payments wait for a supervisor: of unknown outcome, and flagged. Counted
    from the index payment_waiting_recent alone (it holds state and flag, never null)."""
    return Payment.objects.filter(needing_a_supervisor()).aggregate(
        unknown=Count("state", filter=Q(state=Payment.State.UNKNOWN)),
        flagged=Count("state", filter=Q(flagged=True)),
    )


def why_a_supervisor_is_needed(payment: Payment) -> str:
    """In words, why `payment` waits for a supervisor: what is unknown, or what contradicted
    what (the latest result that was not a repeat: the one that raised the flag)."""
    if payment.flagged:
        raised = (
            PaymentEvent.objects.filter(payment=payment)
            .exclude(source=PaymentEvent.Source.SUPERVISOR)
            .exclude(kind=PaymentEvent.Kind.REPEATED)
            .order_by("-created_at", "-pk")
            .values_list("message", flat=True)
            .first()
        )
        return f"Flagged: {raised or 'a contradictory result arrived'}."
    return f"Outcome unknown: {payment.message or 'the result could not be read in time'}."


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str
    what: str
    detail: str
    actor: str


def timeline(payment: Payment) -> list[TimelineEntry]:
    """Every event of `payment` and every webhook delivery for it, oldest first."""
    entries = [
        TimelineEntry(
            at=event.created_at,
            source=event.get_source_display(),
            what=event.get_kind_display()
            + (f": {event.from_state or '—'} → {event.to_state}" if event.to_state else ""),
            detail=event.message,
            actor=event.actor.get_username() if event.actor else "",
        )
        for event in PaymentEvent.objects.filter(payment=payment).select_related("actor")
    ]
    entries += [
        TimelineEntry(
            at=delivery.received_at,
            source="Webhook delivery",
            what=f"Received, {delivery.get_status_display().lower()}",
            detail="; ".join(
                part
                for part in (
                    delivery.error,
                    f"processed {delivery.processed_at:%Y-%m-%d %H:%M:%S}"
                    if delivery.processed_at
                    else "",
                    f"{delivery.attempts} attempt(s)" if delivery.attempts else "",
                )
                if part
            ),
            actor="",
        )
        for delivery in WebhookDelivery.objects.filter(payment=payment).only(
            "received_at", "status", "error", "processed_at", "attempts"
        )
    ]
    return sorted(entries, key=lambda entry: entry.at)
