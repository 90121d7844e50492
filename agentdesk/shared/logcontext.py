"""What every log line says about where it comes from — the request id, and the payment and
VCC session it concerns — and what no log line may hold (a card number).

The request id lives in a context variable: set by the web middleware (agentdesk/logs.py) for
a request, by the Celery task signals for a task enqueued during one. A line about a payment
passes `extra=payment_fields(...)` and carries that payment's own request id (the desk click
that started it), so one payment can be followed from the click to the order update."""

import logging
import re
import uuid
from contextvars import ContextVar

from agentdesk.shared.cards import holds_card_number

REQUEST_ID_HEADER = "X-Request-ID"
# Set in a request's WSGI environ, it keeps the request out of gunicorn's access log
# (agentdesk/gunicorn.py): the desks' unchanged status polls, 200 a second for 200 desks.
NOT_ACCESS_LOGGED = "agentdesk.not_access_logged"
# What a request id from outside may look like (a proxy's UUID or similar): nothing else is
# trusted into a log line.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

request_id: ContextVar[str] = ContextVar("request_id", default="")

_DIGIT_RUNS = re.compile(r"\d[\d -]{11,}\d")


def new_request_id() -> str:
    return uuid.uuid4().hex


def trusted_request_id(value: str | None) -> str | None:
    """`value` when it looks like a request id, else None."""
    return value if value and REQUEST_ID_PATTERN.match(value) else None


def payment_fields(
    pk: int | None, session_guid: str | None, started_by: str = ""
) -> dict[str, object]:
    """The `extra` of a log line about a payment: its id, its VCC session, and the request id
    of the desk click that started it (else the current one)."""
    return {
        "payment_id": pk,
        "session_guid": session_guid or "",
        "request_id": started_by or request_id.get(),
    }


def mask_card_numbers(text: str) -> str:
    """`text` with every run of digits that holds a card number replaced."""
    return _DIGIT_RUNS.sub(
        lambda run: "[card number removed]" if holds_card_number(run.group()) else run.group(),
        text,
    )


class ContextFilter(logging.Filter):
    """Gives every record a request_id, payment_id and session_guid (empty when there is
    none), and removes any card number from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        if not hasattr(record, "payment_id"):
            record.payment_id = None
        if not hasattr(record, "session_guid"):
            record.session_guid = ""
        message = record.getMessage()
        masked = mask_card_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
