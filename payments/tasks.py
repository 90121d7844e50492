"""Celery tasks: thin wrappers around payments.services, safe to run twice.

Late acknowledgement and reject-on-worker-lost are set for every task (settings), so a task a
killed worker was running comes back; the payment rows are the outbox, so a task the broker
lost is found again by the beat-driven poller and sweep.
"""

import logging
from datetime import timedelta

from celery import Task, current_app, shared_task
from django.conf import settings

from payments import services
from payments.models import WebhookDelivery

log = logging.getLogger("payments.tasks")


@shared_task(name=services.POLL_TASK)
def poll_payment(payment_id: int) -> None:
    """Read one payment's session now if its read is due: for an operator who wants it read
    at once (`celery -A agentdesk call payments.poll_payment --args='[id]'`), and for the
    benchmark that compares one task per read with the batch poller."""
    tally = services.poll_payment(payment_id=payment_id)
    if tally:
        log.info("poll payment=%s %s", payment_id, dict(tally))


@shared_task(name=services.POLL_DUE_TASK, bind=True)
def poll_due(self: "Task[[], None]") -> None:
    """The batch poller (celery beat, every tick): read the due payments, a batch at a time;
    a full batch means more are waiting, so another round is queued at once."""
    tally = services.poll_due(worker=self.request.hostname or "")
    if tally is None:
        return
    if tally.total() >= settings.PAYMENT_POLL_BATCH:
        current_app.send_task(services.POLL_DUE_TASK)
    if tally:
        log.info("poll_due %s", dict(tally))


@shared_task(name=services.WEBHOOK_TASK)
def process_webhook(delivery_id: int) -> None:
    """Apply a stored webhook delivery; one whose payment is not known yet is tried again
    shortly (the sweep would also find it)."""
    delivery = services.process_webhook_delivery(delivery_id=delivery_id)
    if delivery.status == WebhookDelivery.Status.RECEIVED:
        services.enqueue(
            services.WEBHOOK_TASK, delivery_id, countdown=timedelta(seconds=2 * delivery.attempts)
        )


@shared_task(name=services.SWEEP_TASK)
def sweep() -> None:
    """The safety net (celery beat): work whose message was lost is found from the rows."""
    report = services.sweep()
    level = logging.WARNING if report.poll_lag_seconds > 30 else logging.INFO
    log.log(level, "sweep %s", report)
