"""Celery tasks: thin wrappers around the poller and the webhook deliveries, safe to run twice.

Late acknowledgement and reject-on-worker-lost are set for every task (settings), so a task a
killed worker was running comes back; the payment rows are the outbox, so a task the broker
lost is found again by the beat-driven poller and sweep.
"""

import logging
import os
from datetime import timedelta

from celery import Task, current_app, shared_task

from payments import health, outbox, poller, webhooks
from payments.metrics import count_poll_reads, count_webhook

log = logging.getLogger("payments.tasks")


@shared_task(name=poller.READ_ONE_TASK)
def poll_payment(payment_id: int) -> None:
    """Read one payment's session now if its read is due: for an operator who wants it read
    at once (`celery -A agentdesk call payments.poll_payment --args='[id]'`), and for the
    benchmark that compares one task per read with the batch poller."""
    tally = poller.read_now(payment_id=payment_id)
    if tally:
        log.info("poll payment=%s %s", payment_id, dict(tally))


@shared_task(name=poller.ROUND_TASK, bind=True)
def poll_due(self: "Task[[], None]") -> None:
    """A round of the batch poller (celery beat, every tick); a full round means more are
    waiting, so another is queued at once."""
    health.record_beat_tick()
    _round(self, "poll_due")


def worker_identity(task: "Task[[], None]") -> str:
    """The worker a round belongs to: its name and its main process (a prefork pool process's
    parent). A worker SIGKILLed and started again under the same name takes fresh round slots
    at once, instead of waiting out the dead processes' leases (PAYMENT_POLL_LEASE: 60 s
    without a read, seen in the chaos benchmark)."""
    return f"{task.request.hostname or ''}:{os.getppid()}"


def _round(task: "Task[[], None]", name: str) -> None:
    tally = poller.run_round(worker=worker_identity(task))
    if tally is None:
        return
    count_poll_reads(tally)
    if tally.total() >= poller.ROUND_SIZE:
        current_app.send_task(poller.ROUND_TASK)
    if tally:
        log.info("%s %s", name, dict(tally))


@shared_task(name=webhooks.CONFIRM_TASK, bind=True)
def confirm_rung(self: "Task[[], None]") -> None:
    """A poll round started at once because a webhook delivery rang: the sessions it rang for
    are read from VCC now rather than at beat's next tick, with any others that are due."""
    webhooks.kick_taken()
    _round(self, "confirm_rung")


@shared_task(name=webhooks.PROCESS_TASK)
def process_webhook(delivery_id: int) -> None:
    """Handle a stored webhook delivery receive() could not ring for, or a replay; one left
    waiting with an error (its payment not known yet, VCC unreadable) is tried again shortly
    (the sweep would also find it)."""
    delivery = webhooks.process(delivery_id=delivery_id)
    is_retry = delivery.status == webhooks.Status.RECEIVED and bool(delivery.error)
    count_webhook("retry" if is_retry else delivery.status)
    if is_retry:
        outbox.enqueue(
            webhooks.PROCESS_TASK, delivery_id, countdown=timedelta(seconds=2 * delivery.attempts)
        )


@shared_task(name=poller.SWEEP_TASK)
def sweep() -> None:
    """The safety net (celery beat): work whose message was lost is found from the rows."""
    report = poller.sweep()
    level = logging.WARNING if report.poll_lag_seconds > 30 else logging.INFO
    log.log(level, "sweep %s", report)
