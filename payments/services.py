"""The verbs that change payments: the one place payment state moves.

Every state change goes through `_transition`, which the public services call inside a short
transaction holding the payment row's lock. Slow I/O (HTTP to VCC) happens between
transactions, never inside one. Work for the worker is enqueued by task name after commit.
"""

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from agentdesk import audit
from agentdesk.models import Agent, AuditEntry
from customers.models import Customer
from payments.models import Order, Payment, PaymentEvent, PaymentFlow, WebhookDelivery
from payments.polling import PollClaim, PollRead, read_sessions
from payments.redaction import redact_card_data
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for
from payments.vcc.errors import VccBadResponse, VccError, VccRateLimited, VccSessionNotFound
from payments.vcc.parsing import NEVER_PROGRESSED, session_status
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
POLL_DUE_TASK = "payments.poll_due"
WEBHOOK_TASK = "payments.process_webhook"
SWEEP_TASK = "payments.sweep"
# A delivery whose session is not (yet) ours is tried this many times, then ignored.
WEBHOOK_ATTEMPTS = 5


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


# --- Orders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderDetails:
    """What an agent may set on an order before a payment starts (all of it goes to VCC)."""

    amount: Decimal
    currency: str
    description: str = ""
    reference: str = ""  # blank: generated for a new order, kept for an existing one


def create_order(*, customer: Customer, details: OrderDetails) -> Order:
    """A new open order for `customer`; raises ValidationError for details that cannot be used."""
    order = Order(
        customer=customer,
        amount=details.amount,
        currency=details.currency,
        description=details.description.strip(),
    )
    if details.reference.strip():
        order.reference = details.reference.strip()
    order.full_clean(exclude=["customer"])
    order.save()
    return order


def update_order_details(*, order: Order, details: OrderDetails) -> Order:
    """Change what `order` will send to VCC. Refused (PaymentBlocked) once a payment is in
    progress, approved or of unknown outcome; the reference, once sent to VCC with an attempt,
    never changes. Unchanged details change nothing and are never refused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        wanted = {
            "amount": details.amount,
            "currency": details.currency.strip().upper(),
            "description": details.description.strip(),
            "reference": details.reference.strip() or order.reference,
        }
        changed = {name for name, value in wanted.items() if getattr(order, name) != value}
        if not changed:
            return order
        ensure_editable(order)
        if "reference" in changed and order.payments.exists():
            raise PaymentBlocked(
                "The reference was sent to VCC with an earlier attempt: it cannot change."
            )
        for name in changed:
            setattr(order, name, wanted[name])
        order.full_clean(exclude=["customer"])
        order.save(update_fields=sorted(changed))
        return order


def ensure_editable(order: Order) -> None:
    """Raise PaymentBlocked unless `order`'s payment details may still change."""
    reason = blocking_reason(order)
    if reason:
        raise PaymentBlocked(f"{reason} Its details can no longer change.")


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
            payment.message = str(error)[:500]  # shown to the agent beside Retry
            _transition(payment, State.FAILED_TO_START, source=Source.SYSTEM, message=str(error))
        return StartedPayment(payment, None)

    with transaction.atomic():
        payment = _locked(payment.pk)
        payment.session_guid = session.session_guid
        payment.provider_url = session.provider_url
        payment.session_started_at = timezone.now()
        # The polling outbox: the batch poller (payments.poll_due) makes the first read then.
        payment.next_poll_at = timezone.now() + settings.PAYMENT_POLL_FIRST_DELAY
        _transition(
            payment,
            State.IN_PROGRESS,
            source=Source.SYSTEM,
            message="VCC session opened; waiting for the caller",
            data={"session_guid": session.session_guid},
        )
    return StartedPayment(payment, session)


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


# --- Polling ----------------------------------------------------------------------------------


def last_read_at(session_started_at: datetime) -> datetime:
    """The last moment we read a session: inside VCC's retention, counted from the start."""
    return (
        session_started_at + settings.VCC_RESULT_RETENTION - settings.PAYMENT_POLL_LAST_READ_MARGIN
    )


def next_poll_time(*, session_started_at: datetime, now: datetime) -> datetime | None:
    """When to read a live session next (PAYMENT_POLL_SCHEDULE by its age, never after its
    last read), or None when the read just made was the last."""
    last = last_read_at(session_started_at)
    if now >= last:
        return None
    age = now - session_started_at
    interval = next(
        interval
        for interval, until in settings.PAYMENT_POLL_SCHEDULE
        if until is None or age < until
    )
    return min(now + interval, last)


def claim_polls(
    *, limit: int, payment_id: int | None = None, due_by: datetime | None = None
) -> list[PollClaim]:
    """Claim up to `limit` live payments whose next read is due (by `due_by`, default now),
    most overdue first, by moving their next_poll_at to a lease: another worker skips them
    until the lease runs out, which is also how a killed worker's claims come back."""
    now = timezone.now()
    lease_until = now + settings.PAYMENT_POLL_LEASE
    due = Payment.objects.filter(
        state=State.IN_PROGRESS,
        next_poll_at__lte=due_by or now,
        session_guid__isnull=False,
        session_started_at__isnull=False,
    ).order_by("next_poll_at")
    if payment_id is not None:
        due = due.filter(pk=payment_id)
    fields = ("pk", "next_poll_at", "session_guid", "flow__account", "order__currency")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list(
                    *fields, "session_started_at"
                )[:limit]
            )
            Payment.objects.filter(pk__in=[row[0] for row in rows]).update(next_poll_at=lease_until)
        else:  # SQLite: a conditional UPDATE per row, which must touch exactly that row
            rows = [
                row
                for row in due.values_list(*fields, "session_started_at")[:limit]
                if Payment.objects.filter(
                    pk=row[0], state=State.IN_PROGRESS, next_poll_at=row[1]
                ).update(next_poll_at=lease_until)
            ]
    return [
        PollClaim(pk, guid, account, currency, started, lease_until)
        for pk, _, guid, account, currency, started in rows
    ]


def record_polls(reads: Iterable[PollRead]) -> Counter[str]:
    """Act on what reading claimed sessions gave, and say how many ended which way.

    A finished session's result is applied; a purged one is outcome unknown; one that never
    progressed past the provider page's lifetime is expired; one still unfinished, or
    unreadable, at its last read is outcome unknown; any other is read again later. The
    reschedules are written together, each only while this worker's claim still holds."""
    now = timezone.now()
    tally: Counter[str] = Counter()
    later: dict[tuple[datetime, datetime, bool], list[int]] = {}
    for read in reads:
        claim = read.claim
        outcome, when = _poll_outcome(read, now)
        tally[outcome] += 1
        if when is not None:
            later.setdefault((claim.lease_until, when, outcome != "released"), []).append(
                claim.payment_id
            )
    for (lease_until, when, was_read), ids in later.items():
        Payment.objects.filter(
            pk__in=ids, state=State.IN_PROGRESS, next_poll_at=lease_until
        ).update(next_poll_at=when, poll_count=F("poll_count") + 1 if was_read else F("poll_count"))
    return tally


def _poll_outcome(read: PollRead, now: datetime) -> tuple[str, datetime | None]:
    """Settle one read: the outcome's name, and when to read again (None when settled)."""
    claim, status, error = read.claim, read.status, read.error
    if status is None and error is None:
        return "released", now
    if status is not None and status.finished:
        with transaction.atomic():
            apply_result(payment_id=claim.payment_id, status=status, source=Source.POLL)
            Payment.objects.filter(pk=claim.payment_id).update(poll_count=F("poll_count") + 1)
        return "finished", None
    if isinstance(error, VccSessionNotFound):
        _settle_poll(
            claim,
            mark_unknown,
            "VCC no longer has this session (it keeps a result 15 minutes) and no result "
            "reached us: check with the gateway before taking the money again.",
        )
        return "purged", None
    started = claim.session_started_at
    when = next_poll_time(session_started_at=started, now=now)
    if status is not None:
        state = status.session_state or "no state"
        if state.lower() == NEVER_PROGRESSED and now - started >= settings.VCC_PAGE_LIFETIME:
            minutes = settings.VCC_PAGE_LIFETIME.total_seconds() / 60
            _settle_poll(
                claim,
                expire_payment,
                f"The provider page timed out: VCC still reported the session as '{state}' "
                f"after {minutes:g} minutes.",
            )
            return "expired", None
        if when is not None:
            return "waiting", when
        why = (
            f"VCC still reported the session as '{state}' at our last read inside its "
            "result retention"
        )
    elif when is not None:
        log.warning("payment=%s poll failed: %s", claim.payment_id, error)
        if isinstance(error, VccRateLimited) and error.retry_after:
            when = max(when, now + timedelta(seconds=error.retry_after))
        return ("bad_response" if isinstance(error, VccBadResponse) else "unavailable"), when
    else:
        why = f"The result could not be read from VCC before its retention ended ({error})"
    _settle_poll(
        claim, mark_unknown, f"{why}: check with the gateway before taking the money again."
    )
    return "unknown", None


class _Settle(Protocol):
    def __call__(self, *, payment_id: int, reason: str, source: str = ...) -> Payment: ...


def _settle_poll(claim: PollClaim, service: _Settle, reason: str) -> None:
    with transaction.atomic():
        service(payment_id=claim.payment_id, reason=reason, source=Source.POLL)
        Payment.objects.filter(pk=claim.payment_id).update(poll_count=F("poll_count") + 1)


def poll_due(*, worker: str = "", limit: int | None = None) -> Counter[str] | None:
    """One round of the batch poller: claim the live payments whose read is due (or due
    within half a tick, so that it is not a tick late), most overdue first; read their
    sessions concurrently; act on each read. Says how many ended which way, or None when
    `worker` runs PAYMENT_POLL_ROUNDS rounds already: kept below the worker's concurrency,
    a pool process is always free for webhooks, and rounds never pile up in the queue ahead
    of them when reads take longer than a tick."""
    slot = _poll_round_slot(worker)
    if slot is None:
        return None
    try:
        due_by = timezone.now() + settings.PAYMENT_POLL_TICK / 2
        claims = claim_polls(limit=limit or settings.PAYMENT_POLL_BATCH, due_by=due_by)
        return poll_claimed(claims)
    finally:
        cache.delete(slot)


def _poll_round_slot(worker: str) -> str | None:
    """Take one of `worker`'s PAYMENT_POLL_ROUNDS round slots (its pool processes meet in the
    cache; a killed round's slot frees itself with its lease), or None when all are taken."""
    timeout = int(settings.PAYMENT_POLL_LEASE.total_seconds())
    for number in range(settings.PAYMENT_POLL_ROUNDS):
        key = f"payments:poll-round:{worker}:{number}"
        if cache.add(key, 1, timeout=timeout):
            return key
    return None


def poll_payment(*, payment_id: int) -> Counter[str]:
    """Read one payment's session now if its read is due (within a second), else nothing.

    Not part of the normal flow, where the batch poller reads every payment: one task per
    read costs the worker about six times the CPU of a batched read (docs/results.md)."""
    soon = timezone.now() + timedelta(seconds=1)
    return poll_claimed(claim_polls(limit=1, payment_id=payment_id, due_by=soon))


def poll_claimed(claims: list[PollClaim]) -> Counter[str]:
    """Read claimed sessions and act on what they say; reads not begun before half the lease
    has gone are handed back to the poller."""
    if not claims:
        return Counter()
    return record_polls(read_sessions(claims, budget=settings.PAYMENT_POLL_LEASE / 2))


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


# --- Webhook ----------------------------------------------------------------------------------


def receive_webhook(*, body: str, too_large: bool = False) -> WebhookDelivery:
    """Store one webhook delivery first (card data redacted), then, when it is readable,
    have the worker process it after commit. An unreadable one is stored as invalid."""
    error = ""
    session_guid = ""
    text = "" if too_large else redact_card_data(body)
    if too_large:
        error = "The body is larger than we accept; it was not stored."
    else:
        try:
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise VccBadResponse("The body is JSON but not an object.")
            session_guid = session_status(parsed).session_guid[:64]
        except ValueError:
            error = "The body is not JSON."
        except VccBadResponse as bad:
            error = str(bad)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            body=text,
            is_valid=not error,
            status=WebhookDelivery.Status.INVALID if error else WebhookDelivery.Status.RECEIVED,
            error=error[:500],
            session_guid=session_guid,
        )
        if not error:
            enqueue(WEBHOOK_TASK, delivery.pk)
    return delivery


def process_webhook_delivery(*, delivery_id: int) -> WebhookDelivery:
    """Apply a stored delivery's result through apply_result, once: a delivery already
    processed (or invalid) is left alone. One whose session no payment has yet stays
    `received` for another attempt, and is ignored after WEBHOOK_ATTEMPTS."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.RECEIVED:
            return delivery
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.RECEIVED:
            return delivery
        payment = (
            Payment.objects.filter(session_guid=delivery.session_guid)
            .select_related("order")
            .first()
            if delivery.session_guid
            else None
        )
        if payment is None:
            delivery.error = "No payment has this session."
            if delivery.attempts >= WEBHOOK_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.IGNORED
                delivery.processed_at = timezone.now()
            delivery.save(update_fields=["error", "status", "processed_at"])
            return delivery
        delivery.payment = payment
        delivery.processed_at = timezone.now()
        try:
            status = session_status(json.loads(delivery.body), currency=payment.order.currency)
        except (ValueError, VccBadResponse) as error:
            delivery.status, delivery.is_valid = WebhookDelivery.Status.INVALID, False
            delivery.error = f"Unreadable: {error}"[:500]
            delivery.save()
            return delivery
        apply_result(payment_id=payment.pk, status=status, source=Source.WEBHOOK)
        delivery.status = WebhookDelivery.Status.PROCESSED
        delivery.error = "" if status.finished else f"Session not finished ({status.session_state})"
        delivery.save()
        return delivery


def replay_webhook_delivery(*, delivery_id: int, actor: User) -> WebhookDelivery:
    """Process a stored delivery again (from admin), as if it had just arrived; apply_result
    keeps it from applying anything twice."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if not delivery.body:
            raise PaymentBlocked("This delivery has no stored body to replay.")
        delivery.status = WebhookDelivery.Status.RECEIVED
        delivery.is_valid = True
        delivery.attempts = 0
        delivery.error = ""
        delivery.processed_at = None
        delivery.save()
        audit.record(
            AuditEntry.Action.ADMIN_CHANGE,
            actor=actor,
            target=str(delivery),
            change="webhook delivery replayed",
            delivery=delivery.pk,
        )
        enqueue(WEBHOOK_TASK, delivery.pk)
    return delivery


# --- The sweep: the safety net ----------------------------------------------------------------


@dataclass
class SweepReport:
    rearmed: int = 0
    final_reads: Counter[str] = field(default_factory=Counter)
    stale_starts: int = 0
    webhooks_requeued: int = 0
    poll_lag_seconds: float = 0.0


def sweep(*, limit: int = 500) -> SweepReport:
    """Find work whose message was lost (broker restarted, worker killed) from the rows.

    Re-arms live payments that have no next read; makes the final read of those whose result
    window has closed while the poller did not get to them (a result VCC still holds is
    applied, otherwise they become outcome unknown); fails starts left hanging; re-queues
    webhook deliveries that were never processed; and measures how far behind polling is."""
    now = timezone.now()
    report = SweepReport()
    report.rearmed = Payment.objects.filter(
        state=State.IN_PROGRESS, next_poll_at__isnull=True
    ).update(next_poll_at=now)
    overdue = Payment.objects.filter(
        state=State.IN_PROGRESS,
        session_started_at__lte=now - settings.VCC_RESULT_RETENTION,
        next_poll_at__lte=now,
    ).values_list("pk", flat=True)[:limit]
    claims = [claim for pk in overdue for claim in claim_polls(limit=1, payment_id=pk)]
    report.final_reads = poll_claimed(claims)
    for payment_id in Payment.objects.filter(
        state=State.STARTING, created_at__lte=now - settings.PAYMENT_START_STALE_AFTER
    ).values_list("pk", flat=True)[:limit]:
        fail_stale_start(payment_id=payment_id)
        report.stale_starts += 1
    stale = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.RECEIVED,
        received_at__lte=now - settings.WEBHOOK_REQUEUE_AFTER,
    ).values_list("pk", flat=True)[:limit]
    for delivery_id in stale:
        enqueue(WEBHOOK_TASK, delivery_id)
        report.webhooks_requeued += 1
    oldest = (
        Payment.objects.filter(state=State.IN_PROGRESS, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("next_poll_at", flat=True)
        .first()
    )
    report.poll_lag_seconds = (now - oldest).total_seconds() if oldest else 0.0
    return report


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
