"""Work for the worker, sent after commit. The rows are the outbox: a message the broker did not
take is found again from the database (by the sweep or the batch poller)."""

import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

log = logging.getLogger("payments.services")


def enqueue(task: str, *args: int, countdown: timedelta = timedelta(0)) -> None:
    """After commit, send `task` to the worker. The rows are the outbox: when the broker is
    down the message is dropped with a warning, and the sweep (or the batch poller) finds the
    work from the database instead of the caller seeing an error for work already saved."""
    seconds = max(countdown.total_seconds(), 0)

    def send() -> None:
        try:
            current_app.send_task(task, args=list(args), countdown=seconds)
        except BrokerUnavailable as error:
            log.warning("broker unavailable, %s%s left to the sweep: %s", task, list(args), error)

    transaction.on_commit(send)


# --- Results ----------------------------------------------------------------------------------
