"""The verbs that change payments: the one place payment state moves.

Every state change goes through `_transition`, which the public services call inside a short
transaction holding the payment row's lock. Slow I/O (HTTP to VCC) happens between
transactions, never inside one. Work for the worker is enqueued by task name after commit.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from agentdesk import audit
from agentdesk.models import Agent, AuditEntry
from payments.models import Order, Payment, PaymentEvent, PaymentFlow
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for
from payments.vcc.errors import VccError
from payments.vcc.payload import payment_data
from payments.vcc.types import NewSession, SessionStatus

log = logging.getLogger("payments.services")

State = Payment.State
Source = PaymentEvent.Source

# The state machine of docs/architecture.md: which moves exist, and who may make them.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    State.STARTING: frozenset({State.IN_PROGRESS, State.FAILED_TO_START}),
    State.IN_PROGRESS: frozenset(
        {State.APPROVED, State.DECLINED, State.ERROR, State.ABANDONED, State.EXPIRED, State.UNKNOWN}
    ),
    # Out of these only by a supervisor's recorded decision (resolve_payment).
    State.UNKNOWN: frozenset({State.APPROVED, State.ABANDONED}),
    State.APPROVED: frozenset({State.DECLINED}),
    State.DECLINED: frozenset({State.APPROVED}),
    State.ERROR: frozenset({State.APPROVED}),
    State.ABANDONED: frozenset({State.APPROVED}),
    State.EXPIRED: frozenset({State.APPROVED}),
}
SUPERVISOR_ONLY_FROM = frozenset({State.UNKNOWN, *Payment.FINAL_STATES})

# [decided] The gateway's `decision` (CyberSource-like, passed through by VCC) -> our state.
# REVIEW means the money may be held pending the merchant's review: not safe to call failed.
DECISION_STATES: Mapping[str, str] = {
    "ACCEPT": State.APPROVED,
    "REJECT": State.DECLINED,
    "ERROR": State.ERROR,
    "CANCEL": State.ABANDONED,
    "REVIEW": State.UNKNOWN,
}

POLL_TASK = "payments.poll_payment"


class PaymentBlocked(Exception):
    """The payment cannot be started or changed; `str()` says why, fit to show the agent."""


class InvalidTransition(Exception):
    """A move the state machine does not have: a bug, never a user error."""


@dataclass(frozen=True)
class StartedPayment:
    """The attempt, and the provider page's tokens, which go to the agent's browser in this
    one response and are not stored."""

    payment: Payment
    session: NewSession | None


# --- Starting ---------------------------------------------------------------------------------


def blocking_reason(order: Order) -> str | None:
    """Why `order` cannot take another payment now, or None when it can."""
    if order.status == Order.Status.PAID:
        return "This order is already paid."
    if order.status == Order.Status.CANCELLED:
        return "This order is cancelled."
    blocking = (
        order.payments.filter(state__in=Payment.BLOCKING_STATES)
        .select_related("agent__user")
        .first()
    )
    if blocking is None:
        return None
    if blocking.state == State.UNKNOWN:
        return (
            "The outcome of this order's last payment is unknown: a supervisor must resolve it "
            "before another payment can be taken."
        )
    if blocking.state == State.APPROVED:
        return "This order is already paid."
    started = timezone.localtime(blocking.created_at).strftime("%H:%M:%S")
    return f"A payment for this order is already in progress (started {started})."


def start_payment(
    *, order: Order, flow: PaymentFlow, agent: Agent, retry_of: Payment | None = None
) -> StartedPayment:
    """Open a VCC session for `order`; at most one live attempt per order.

    Raises PaymentBlocked when the order cannot take a payment now. A session VCC refuses
    leaves the attempt `failed_to_start` with the reason, ready for a retry."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        reason = blocking_reason(order)
        if reason:
            raise PaymentBlocked(reason)
        if not flow.is_active:
            raise PaymentBlocked(f"The payment flow '{flow.name}' is switched off.")
        try:
            with transaction.atomic():
                payment = Payment.objects.create(order=order, flow=flow, agent=agent)
        except IntegrityError:
            raise PaymentBlocked(
                blocking_reason(order) or "Another payment for this order is starting."
            ) from None
        PaymentEvent.objects.create(
            payment=payment,
            source=Source.AGENT,
            kind=PaymentEvent.Kind.STATE_CHANGED,
            to_state=State.STARTING,
            message=f"Retry of attempt #{retry_of.pk}" if retry_of else "Payment started",
            actor=agent.user,
            data={"flow": flow.name, "staging": flow.is_staging},
        )
        audit.record(
            AuditEntry.Action.PAYMENT_RETRIED if retry_of else AuditEntry.Action.PAYMENT_STARTED,
            actor=agent.user,
            target=order.reference,
            payment=payment.pk,
            flow=flow.name,
        )

    try:
        client = client_for(flow.account)
        session = client.create_session(
            agent_id=agent.vcc_agent_id,
            payment_data=payment_data(order, flow),
            account_configuration_id=flow.account_configuration_id,
            skip_call_transfer=settings.VCC_SKIP_CALL_TRANSFER,
        )
    except (VccError, AccountConfigError) as error:
        log.warning("payment=%s failed to start: %s", payment.pk, error)
        with transaction.atomic():
            payment = _locked(payment.pk)
            _transition(payment, State.FAILED_TO_START, source=Source.SYSTEM, message=str(error))
        return StartedPayment(payment, None)

    with transaction.atomic():
        payment = _locked(payment.pk)
        payment.session_guid = session.session_guid
        payment.provider_url = session.provider_url
        payment.session_started_at = timezone.now()
        payment.next_poll_at = timezone.now() + settings.PAYMENT_POLL_FIRST_DELAY
        _transition(
            payment,
            State.IN_PROGRESS,
            source=Source.SYSTEM,
            message="VCC session opened; waiting for the caller",
            data={"session_guid": session.session_guid},
        )
        schedule_poll(payment, countdown=settings.PAYMENT_POLL_FIRST_DELAY)
    return StartedPayment(payment, session)


def schedule_poll(payment: Payment, *, countdown: timedelta) -> None:
    """After commit, ask the worker to read `payment`'s session in `countdown`."""
    payment_id, seconds = payment.pk, max(countdown.total_seconds(), 0)
    transaction.on_commit(
        lambda: current_app.send_task(POLL_TASK, args=[payment_id], countdown=seconds)
    )


# --- Results ----------------------------------------------------------------------------------


def outcome_of(status: SessionStatus) -> tuple[str, str]:
    """The state a finished session means for us, and a line saying why."""
    result = status.result
    if result is None or not result.decision:
        return State.ABANDONED, "Session finished without a gateway answer"
    state = DECISION_STATES.get(result.decision)
    if state is None:
        return State.UNKNOWN, f"Gateway decision '{result.decision}' is not understood"
    code = f" (reason {result.reason_code})" if result.reason_code else ""
    return state, f"Gateway decision {result.decision}{code}"


def result_facts(status: SessionStatus) -> dict[str, Any]:
    """What the timeline keeps of a session status: never card data, never tokens."""
    facts: dict[str, Any] = {"session_state": status.session_state}
    result = status.result
    if result is not None:
        facts.update(
            {
                "decision": result.decision,
                "reason_code": result.reason_code,
                "gateway_reference": result.gateway_reference,
                "amount": str(result.amount) if result.amount is not None else None,
                "currency": result.currency,
                "card_brand": result.card_brand,
            }
        )
    return facts


def apply_result(*, payment_id: int, status: SessionStatus, source: str) -> Payment:
    """Apply what VCC said about a payment's session, exactly once.

    An unfinished session changes nothing. A first finished result moves the payment and its
    order. A repeat is recorded and changes nothing; a different result after a final one is
    recorded and flagged for supervisors, never applied silently."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if not status.finished:
            return payment
        state, why = outcome_of(status)
        facts = result_facts(status)
        if payment.state in (State.STARTING, State.IN_PROGRESS):
            _record_gateway_answer(payment, status)
            amount = status.result.amount if status.result else None
            mismatch = (
                state == State.APPROVED and amount is not None and amount != payment.order.amount
            )
            if mismatch:
                payment.flagged = True
                why += f"; amount {amount} differs from the order's {payment.order.amount}"
            if state == State.UNKNOWN:
                payment.message = why
            _transition(payment, state, source=source, message=why, data=facts)
            return payment
        same = payment.state == state and (
            not status.result or status.result.gateway_reference == payment.gateway_reference
        )
        if same:
            kind, message = PaymentEvent.Kind.REPEATED, f"Repeated result: {why}"
        elif payment.state == State.UNKNOWN:
            # The only way out of unknown is a supervisor's decision: give them the evidence.
            kind, message = (
                PaymentEvent.Kind.NOTE,
                f"Late result for a supervisor to confirm: {why}",
            )
        else:
            kind, message = PaymentEvent.Kind.CONTRADICTION, f"Contradictory result: {why}"
        if not same:
            payment.flagged = True
            payment.save(update_fields=["flagged"])
            log.warning("payment=%s result %s after %s", payment.pk, state, payment.state)
        PaymentEvent.objects.create(
            payment=payment,
            source=source,
            kind=kind,
            from_state=payment.state,
            to_state=payment.state,
            message=message,
            data=facts,
        )
        return payment


def _record_gateway_answer(payment: Payment, status: SessionStatus) -> None:
    result = status.result
    if result is None:
        return
    payment.gateway_decision = result.decision[:20]
    payment.gateway_reason_code = result.reason_code[:20]
    payment.gateway_reference = result.gateway_reference[:100]
    payment.result_amount = result.amount
    payment.card_brand = result.card_brand[:30]


def mark_unknown(*, payment_id: int, reason: str, source: str = Source.SYSTEM) -> Payment:
    """The result could not be read in time: outcome unknown, which blocks another payment on
    the order until a supervisor decides. A payment already final is left alone."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.state == State.IN_PROGRESS:
            payment.message = reason[:500]
            _transition(payment, State.UNKNOWN, source=source, message=reason)
        return payment


def expire_payment(*, payment_id: int, reason: str, source: str = Source.SYSTEM) -> Payment:
    """The session never progressed and the provider page has timed out."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.state == State.IN_PROGRESS:
            _transition(payment, State.EXPIRED, source=source, message=reason)
        return payment


# --- Supervisors ------------------------------------------------------------------------------

RESOLUTIONS = ("approved", "not_taken")


def resolve_payment(*, payment: Payment, supervisor: User, outcome: str, reason: str) -> Payment:
    """A supervisor's recorded decision on a payment of unknown outcome or a flagged
    contradiction: the money was taken ("approved") or not ("not_taken")."""
    if outcome not in RESOLUTIONS:
        raise PaymentBlocked("Choose whether the money was taken or not.")
    if not reason.strip():
        raise PaymentBlocked("Give the reason for this decision.")
    with transaction.atomic():
        payment = _locked(payment.pk)
        if payment.state != State.UNKNOWN and not payment.flagged:
            raise PaymentBlocked("This payment has nothing to resolve.")
        target: str
        if outcome == "approved":
            target = State.APPROVED
        elif payment.state == State.UNKNOWN:
            target = State.ABANDONED
        elif payment.state == State.APPROVED:
            target = State.DECLINED
        else:
            target = payment.state  # not taken, as the payment already says
        payment.flagged = False
        payment.resolved_at = timezone.now()
        payment.resolved_by = supervisor
        payment.resolution_reason = reason.strip()[:500]
        message = f"Resolved by {supervisor.get_username()}: {outcome} ({reason.strip()})"
        if target == payment.state:
            payment.save()
            PaymentEvent.objects.create(
                payment=payment,
                source=Source.SUPERVISOR,
                kind=PaymentEvent.Kind.NOTE,
                from_state=payment.state,
                to_state=payment.state,
                message=message,
                actor=supervisor,
            )
        else:
            try:
                with transaction.atomic():
                    _transition(
                        payment, target, source=Source.SUPERVISOR, message=message, actor=supervisor
                    )
            except IntegrityError:
                raise PaymentBlocked(
                    "Another attempt on this order is approved or still live: this one cannot "
                    "also be approved. If both took money, refund one with the gateway."
                ) from None
        return payment


# --- The one writer ---------------------------------------------------------------------------


def _locked(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().select_related("order", "flow").get(pk=payment_id)


def _transition(
    payment: Payment,
    to_state: str,
    *,
    source: str,
    message: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """Move a locked `payment` to `to_state`, append its event and bring its order along.
    Must run inside the transaction that locked the row."""
    from_state = payment.state
    if to_state not in TRANSITIONS.get(from_state, frozenset()):
        raise InvalidTransition(f"payment {payment.pk}: {from_state} -> {to_state}")
    if from_state in SUPERVISOR_ONLY_FROM and source != Source.SUPERVISOR:
        raise InvalidTransition(f"payment {payment.pk}: only a supervisor leaves {from_state}")
    now = timezone.now()
    payment.state = to_state
    if to_state not in Payment.LIVE_STATES:
        payment.next_poll_at = None
        payment.finished_at = payment.finished_at or now
    payment.save()
    PaymentEvent.objects.create(
        payment=payment,
        source=source,
        kind=PaymentEvent.Kind.STATE_CHANGED,
        from_state=from_state,
        to_state=to_state,
        message=message[:500],
        data=data or {},
        actor=actor,
    )
    _update_order(payment, now)
    log.info("payment=%s %s -> %s (%s)", payment.pk, from_state, to_state, source)


def _update_order(payment: Payment, now: Any) -> None:
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if payment.state == State.APPROVED:
        order.status = Order.Status.PAID
        order.paid_amount = payment.result_amount or Decimal(order.amount)
        order.paid_at = now
    elif order.status == Order.Status.PAID and payment.state == State.DECLINED:
        # A supervisor decided the money was not taken after all.
        order.status = Order.Status.OPEN
        order.paid_amount = None
        order.paid_at = None
    else:
        return
    order.save(update_fields=["status", "paid_amount", "paid_at"])
    payment.order = order
