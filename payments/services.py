"""The verbs that change payment state.

TEMPORARY (branch `admin`): only `resolve_payment` and `PaymentBlocked`, written against the
signature the lead gave for issue 6 so the supervisors' admin can be built and tested. The
lead's payments/services.py (the one writer of payment state) replaces this file when the
branches are integrated; keep the signature and the behaviour described in the docstring.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from payments.models import Order, Payment, PaymentEvent

RESOLUTION_OUTCOMES = ("approved", "not_taken")


class PaymentBlocked(Exception):
    """The payment cannot be moved as asked; the message says why, fit to show a person."""


def resolve_payment(*, payment: Payment, supervisor: User, outcome: str, reason: str) -> Payment:
    """Record a supervisor's decision on a payment of unknown outcome or a flagged contradiction.

    `outcome` is "approved" (the money was taken) or "not_taken". Unknown → approved or
    abandoned; flagged → approved (kept or restored) or declined. Clears the flag, records who
    resolved it, when and why, appends a supervisor event and marks the order paid or open
    again. Raises PaymentBlocked when the payment needs no resolution.
    """
    if outcome not in RESOLUTION_OUTCOMES:
        raise PaymentBlocked(f"Unknown outcome {outcome!r}: choose approved or not taken.")
    if not reason.strip():
        raise PaymentBlocked("Give the reason for the decision.")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment.pk)
        if payment.state != Payment.State.UNKNOWN and not payment.flagged:
            raise PaymentBlocked(
                "This payment's outcome is known and not flagged: there is nothing to resolve."
            )
        from_state = payment.state
        if outcome == "approved":
            to_state = Payment.State.APPROVED
        elif payment.state == Payment.State.UNKNOWN:
            to_state = Payment.State.ABANDONED
        else:
            to_state = Payment.State.DECLINED
        now = timezone.now()
        payment.state = to_state
        payment.flagged = False
        payment.resolved_at = now
        payment.resolved_by = supervisor
        payment.resolution_reason = reason.strip()
        payment.next_poll_at = None
        payment.finished_at = payment.finished_at or now
        payment.save()
        PaymentEvent.objects.create(
            payment=payment,
            source=PaymentEvent.Source.SUPERVISOR,
            kind=PaymentEvent.Kind.STATE_CHANGED
            if from_state != to_state
            else PaymentEvent.Kind.NOTE,
            from_state=from_state,
            to_state=to_state,
            message=f"Resolved as {outcome.replace('_', ' ')}: {payment.resolution_reason}"[:500],
            actor=supervisor,
        )
        order = payment.order
        if to_state == Payment.State.APPROVED:
            order.status = Order.Status.PAID
            order.paid_amount = payment.result_amount or order.amount
            order.paid_at = order.paid_at or now
        else:
            order.status = Order.Status.OPEN
            order.paid_amount = None
            order.paid_at = None
        order.save(update_fields=["status", "paid_amount", "paid_at"])
    return payment
