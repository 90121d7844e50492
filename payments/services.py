"""The lifecycle verbs of a payment: start it, apply what VCC said, expire it, give it up as
unknown, resolve it. The one place payment state moves.

Every state change goes through `_transition`, which checks the move against the table of
payments/states.py and runs inside a short transaction holding the payment row's lock. Slow
I/O (HTTP to VCC) happens between transactions, never inside one. The poller, the webhook
deliveries, the tasks, the desk and the admin all call these verbs; work for the worker is
enqueued by task name after commit.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from agentdesk.shared import logcontext
from agentdesk.shared.text import fit
from agentdesk.staff.models import Agent
from payments import metrics as payments_metrics
from payments import state_cache, webhook_health
from payments.attempts import new_attempt, open_session
from payments.models import Order, Payment, PaymentEvent, PaymentFlow
from payments.orders import PaymentBlocked
from payments.pages import ProviderPage, StartedPayment, forget_page, keep_page
from payments.states import Mover, move, result_state
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import DIGITAL_LINK_LIFETIME
from payments.vcc.errors import VccError, VccUnknownConfigurationError
from payments.vcc.types import SessionStatus

log = logging.getLogger("payments.services")

State = Payment.State
Source = PaymentEvent.Source

# The poller's first read of a new session comes this soon after it opens.
FIRST_READ_AFTER = timedelta(seconds=1)
# What a reason for an unknown outcome ends with: the supervisor's next step.
CHECK_THE_GATEWAY = ": check with the gateway before taking the money again."
LINK_ENDED = "The payment link ended unused: VCC finished its session with no payment."
ABANDONED_BY_AGENT = "Abandoned by the agent; its session is still read until it ends."


class InvalidTransition(Exception):
    """A move the state table does not have: a bug, never a user error."""


# --- Starting ---------------------------------------------------------------------------------


def start_payment(
    *,
    order: Order,
    flow: PaymentFlow,
    agent: Agent,
    retry_of: Payment | None = None,
    interaction_id: str = "",
    link_to: str = "",
) -> StartedPayment:
    """Open a VCC session for `order`; at most one live attempt per order. `interaction_id`
    is the contact centre's id of the call the desk was opened for (a screen pop), if any.
    With `link_to` (a mobile number in E.164) the attempt is a payment link: VCC texts the
    caller a link to its hosted card form (a digital session), and there is no agent page.

    Raises PaymentBlocked when the order cannot take a payment now. A session VCC refuses
    leaves the attempt `failed_to_start` with the reason, ready for a retry."""
    payment = new_attempt(
        order=order,
        flow=flow,
        agent=agent,
        retry_of=retry_of,
        interaction_id=interaction_id,
        link_to=link_to,
    )
    payments_metrics.count_started(flow.name)
    try:
        # The order as locked when the attempt was made: what goes to the payment page.
        session = open_session(order=payment.order, flow=flow, agent=agent, link_to=link_to)
    except (VccError, AccountConfigError) as error:
        log.warning(
            "payment=%s failed to start: %s",
            payment.pk,
            error,
            extra=logcontext.payment_fields(payment.pk, None, payment.request_id),
        )
        with transaction.atomic():
            payment = _locked(payment.pk)
            payment.message = fit(Payment, "message", error)  # shown to the agent beside Retry
            payment.flow_rejected = isinstance(error, VccUnknownConfigurationError)
            _transition(payment, State.FAILED_TO_START, source=Source.SYSTEM, message=str(error))
        return StartedPayment(payment, None)

    # The polling outbox: the batch poller (payments/poller.py) makes the first read then;
    # while webhooks are healthy a webhook rings for the result, and a read is the safety net.
    first_read = settings.PAYMENT_POLL_SAFETY_NET if webhook_health.healthy() else FIRST_READ_AFTER
    with transaction.atomic():
        payment = _locked(payment.pk)
        payment.session_guid = session.session_guid
        payment.provider_url = session.provider_url
        payment.session_started_at = now = timezone.now()
        payment.next_poll_at = now + first_read
        payment.link_expires_at = now + DIGITAL_LINK_LIFETIME if link_to else None
        opened = f"Payment link sent to {link_to}" if link_to else "VCC session opened"
        _transition(
            payment,
            State.IN_PROGRESS,
            source=Source.SYSTEM,
            message=f"{opened}; waiting for the caller",
            data={"session_guid": session.session_guid},
        )
    page = ProviderPage(
        session.provider_url, session.agent_access_token, session.agent_refresh_token
    )
    if link_to:  # the caller's phone receives the link: there is no page for the agent
        return StartedPayment(payment, None)
    keep_page(payment, page)
    return StartedPayment(payment, page)


def abandon_payment(*, payment: Payment, agent: Agent) -> Payment:
    """`agent` moves on from their attempt while it waits for the caller: it is abandoned, so
    the order may take another, and its session is still read to its end (a result that comes
    after is a late result like any other: a payment taken after all is flagged)."""
    with transaction.atomic():
        payment = _locked(payment.pk)
        if payment.state != State.IN_PROGRESS or payment.agent_id != agent.pk:
            return payment
        next_read = payment.next_poll_at or timezone.now()
        payment.message = ABANDONED_BY_AGENT
        _transition(
            payment,
            State.ABANDONED,
            source=Source.AGENT,
            message=ABANDONED_BY_AGENT,
            actor=agent.user,
        )
        payment.next_poll_at = next_read
        payment.save(update_fields=["next_poll_at"])
    forget_page(payment)
    return payment


def fail_stale_start(*, payment_id: int) -> Payment:
    """A payment left `starting` (its web process stopped while VCC was being asked) becomes
    failed to start, saying a session may have opened, so the agent checks before retrying."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.state == State.STARTING:
            payment.message = (
                "No answer from VCC was recorded for this start: a session may have opened. "
                "Check with the caller before starting again."
            )
            _transition(
                payment, State.FAILED_TO_START, source=Source.SYSTEM, message=payment.message
            )
        return payment


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
        if status.call_guid and not payment.call_guid:
            payment.call_guid = fit(Payment, "call_guid", status.call_guid)
            payment.save(update_fields=["call_guid"])
        if status.outcome is None:
            return payment
        state = result_state(status.outcome, link=payment.kind == Payment.Kind.LINK)
        why = LINK_ENDED if state == State.EXPIRED else status.summary
        facts = result_facts(status)
        if payment.is_live:
            if state == State.EXPIRED:  # the link's end, as VCC reported it
                payment.link_expires_at = status.last_updated_on or timezone.now()
            _record_gateway_answer(payment, status)
            amount = status.result.amount if status.result else None
            mismatch = (
                state == State.APPROVED and amount is not None and amount != payment.order.amount
            )
            if mismatch:
                payment.flagged = True
                why += f"; amount {amount} differs from the order's {payment.order.amount}"
            if state == State.UNKNOWN:
                payment.message = fit(Payment, "message", why)
            _transition(payment, state, source=source, message=why, data=facts)
            payments_metrics.observe_result_delay(source, status.last_updated_on)
            return payment
        if payment.next_poll_at is not None:  # abandoned by its agent: its session has ended
            payment.next_poll_at = None
            payment.save(update_fields=["next_poll_at"])
        # A link its agent abandoned whose session VCC then ends unused: no money either way.
        no_money = state == State.EXPIRED and payment.state == State.ABANDONED
        same = (payment.state == state or no_money) and (
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
            log.warning(
                "payment=%s result %s after %s",
                payment.pk,
                state,
                payment.state,
                extra=_log_fields(payment),
            )
        _record_event(payment, source, kind, message, data=facts)
        return payment


def _record_gateway_answer(payment: Payment, status: SessionStatus) -> None:
    result = status.result
    if result is None:
        return
    payment.gateway_decision = fit(Payment, "gateway_decision", result.decision)
    payment.gateway_reason_code = fit(Payment, "gateway_reason_code", result.reason_code)
    payment.gateway_reference = fit(Payment, "gateway_reference", result.gateway_reference)
    payment.result_amount = result.amount
    payment.card_brand = fit(Payment, "card_brand", result.card_brand)


def flag_payment(*, payment_id: int, message: str, data: dict[str, Any], kind: str) -> None:
    """Flag a payment for supervisors with the evidence (a webhook delivery VCC contradicted
    or could not confirm), changing nothing else."""
    with transaction.atomic():
        payment = _locked(payment_id)
        payment.flagged = True
        payment.save(update_fields=["flagged"])
        log.warning("payment=%s flagged: %s", payment.pk, message, extra=_log_fields(payment))
        _record_event(payment, Source.WEBHOOK, kind, message, data=data)


def mark_unknown(*, payment_id: int, reason: str, source: str = Source.SYSTEM) -> Payment:
    """The result could not be read in time: outcome unknown, which blocks another payment on
    the order until a supervisor decides. A payment already final is left alone."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.state == State.IN_PROGRESS:
            payment.message = fit(Payment, "message", reason)
            _transition(payment, State.UNKNOWN, source=source, message=reason)
        elif payment.state == State.ABANDONED and payment.next_poll_at is not None:
            payment.flagged = True
            payment.save(update_fields=["flagged"])
            _record_event(
                payment,
                source,
                PaymentEvent.Kind.NOTE,
                f"The abandoned attempt's result was not read: {reason}",
            )
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
        if payment.is_live:  # flagged by a webhook VCC contradicted: VCC's result is to come
            raise PaymentBlocked("This payment is still waiting for VCC's result.")
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
        payment.resolution_reason = fit(Payment, "resolution_reason", reason.strip())
        message = f"Resolved by {supervisor.get_username()}: {outcome} ({reason.strip()})"
        if target == payment.state:
            payment.save()
            _record_event(
                payment, Source.SUPERVISOR, PaymentEvent.Kind.NOTE, message, actor=supervisor
            )
            return payment
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


def _record_event(
    payment: Payment,
    source: str,
    kind: str,
    message: str,
    *,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """Append to the timeline of a locked `payment` something that did not move it."""
    PaymentEvent.objects.create(
        payment=payment,
        source=source,
        kind=kind,
        from_state=payment.state,
        to_state=payment.state,
        message=fit(PaymentEvent, "message", message),
        data=data or {},
        actor=actor,
    )


def _transition(
    payment: Payment,
    to_state: str,
    *,
    source: str,
    message: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """Move a locked `payment` to `to_state` by a move the state table declares for
    `source`, append its event and bring its order along. Must run inside the transaction
    that locked the row."""
    from_state = payment.state
    movers = {Source.SUPERVISOR.value: Mover.SUPERVISOR, Source.AGENT.value: Mover.AGENT}
    mover = movers.get(source, Mover.APP)
    if move(from_state, to_state, mover) is None:
        raise InvalidTransition(f"payment {payment.pk}: {from_state} -> {to_state} by {mover}")
    now = timezone.now()
    payment.state = to_state
    if not payment.is_live:
        payment.next_poll_at = None
        payment.finished_at = payment.finished_at or now
        if from_state in Payment.LIVE_STATES:
            payments_metrics.count_ended(payment, to_state)
    payment.save()
    state_cache.forget(payment.pk)
    state_cache.published(payment.pk, payment.agent_id, to_state)
    PaymentEvent.objects.create(
        payment=payment,
        source=source,
        kind=PaymentEvent.Kind.STATE_CHANGED,
        from_state=from_state,
        to_state=to_state,
        message=fit(PaymentEvent, "message", message),
        data=data or {},
        actor=actor,
    )
    _update_order(payment, now)
    log.info(
        "payment=%s %s -> %s (%s)",
        payment.pk,
        from_state,
        to_state,
        source,
        extra=_log_fields(payment),
    )


def _log_fields(payment: Payment) -> dict[str, object]:
    return logcontext.payment_fields(payment.pk, payment.session_guid, payment.request_id)


def _update_order(payment: Payment, now: datetime) -> None:
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
