"""The payments CSV finance receives: one row per payment attempt, no card data (we hold none),
read with a server-side cursor a chunk at a time so a million rows never sit in memory."""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import QuerySet

from agentdesk.shared.money import format_major
from payments.models import Payment

# (CSV header, the payment's value path). Amounts are in major units of `currency`; times are
# ISO 8601 in UTC (the database's zone, whatever TIME_ZONE says), and their headers say so.
COLUMNS: list[tuple[str, str]] = [
    ("payment_id", "pk"),
    ("order_reference", "order__reference"),
    ("customer_first_name", "order__customer__first_name"),
    ("customer_last_name", "order__customer__last_name"),
    ("customer_email", "order__customer__email"),
    ("amount", "order__amount"),
    ("currency", "currency"),
    ("state", "state"),
    ("gateway_decision", "gateway_decision"),
    ("gateway_reason_code", "gateway_reason_code"),
    ("gateway_reference", "gateway_reference"),
    ("gateway_amount", "result_amount"),
    ("card_brand", "card_brand"),
    ("flow", "flow__name"),
    ("environment", "environment"),
    ("agent_vcc_id", "agent__vcc_agent_id"),
    ("agent_username", "agent__user__username"),
    ("started_at_utc", "created_at"),
    ("finished_at_utc", "finished_at"),
    ("vcc_session_guid", "session_guid"),
    ("resolved_at_utc", "resolved_at"),
    ("resolved_by", "resolved_by__username"),
    ("resolution_reason", "resolution_reason"),
    ("kind", "kind"),
    ("vcc_call_guid", "call_guid"),
    ("interaction_id", "interaction_id"),
]
HEADER = [name for name, _ in COLUMNS]
CHUNK_ROWS = 2000
# OWASP's CSV injection rule: a cell starting with one of these, or holding one right after a
# separator a spreadsheet may split on (Excel with `;` reads `Doe;=1+1` as two cells), could be
# run as a formula; it gets a leading single quote. Every cell is quoted as well.
_FORMULA = re.compile(r"(?:^|[,;|\t])[=+\-@\t\r]")


def cell(value: object, currency: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_major(value, currency)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    return "'" + text if _FORMULA.search(text) else text


def payment_rows(payments: QuerySet[Payment]) -> Iterator[list[str]]:
    """The header, then one row per payment of `payments`, in its order."""
    yield HEADER
    currency_at = HEADER.index("currency")
    rows = payments.values_list(*(path for _, path in COLUMNS)).iterator(chunk_size=CHUNK_ROWS)
    for row in rows:
        yield [cell(value, row[currency_at]) for value in row]


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as one CSV line, produced as it is read."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    for row in rows:
        yield writer.writerow(row)
