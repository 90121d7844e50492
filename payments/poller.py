"""The poller: reading live sessions from VCC until each has a result, and the sweep behind it.

It owns the polling outbox (`Payment.next_poll_at`): the schedule (when to read a session
next), claims (a lease on a due payment, so that no two workers read it and a killed worker's
reads come back), rounds (one beat tick's batch of claims, read concurrently on a thread pool),
what a read means for the payment, and the sweep that finds work a restart lost. It changes
payments only through the verbs of payments/services.py, as a task would.
"""

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from agentdesk.shared import logcontext
from payments import outbox, services, webhook_health, webhooks
from payments.models import Payment, PaymentEvent, WebhookDelivery
from payments.states import READ_STATES
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for
from payments.vcc.errors import VccBadResponse, VccError, VccRateLimited, VccSessionNotFound
from payments.vcc.types import SessionStatus

log = logging.getLogger("payments.poller")

State = Payment.State
Source = PaymentEvent.Source

ROUND_TASK = "payments.poll_due"
READ_ONE_TASK = "payments.poll_payment"
SWEEP_TASK = "payments.sweep"
# The last read happens this long before VCC's retention, counted from the session's start,
# ends (a read takes time; VCC's clock and ours differ a little).
LAST_READ_MARGIN = timedelta(seconds=30)
# Payments claimed by one round; a full round queues the next at once.
ROUND_SIZE = 100
# An untouched session is expired only a while after the provider page's lifetime: the
# caller's last keypress may reach VCC just as the page closes, and clocks differ (a tenth of
# the lifetime: 1 minute for VCC's 10; docs/results.md).
PAGE_GRACE_SHARE = 10
# A payment left `starting` this long lost its web process while VCC was being asked.
START_STALE_AFTER = timedelta(minutes=5)


# --- The schedule -----------------------------------------------------------------------------


def last_read_at(session_started_at: datetime, link_ends_at: datetime | None = None) -> datetime:
    """The last moment we read a session: inside VCC's retention, counted from the start (a
    payment link's: from the link's end, until which the caller may pay)."""
    ends = link_ends_at or session_started_at
    return ends + settings.VCC_RESULT_RETENTION - LAST_READ_MARGIN


def next_read_at(
    *,
    session_started_at: datetime,
    now: datetime,
    safety_net: bool = False,
    link_ends_at: datetime | None = None,
) -> datetime | None:
    """When to read a live session next (PAYMENT_POLL_SCHEDULE by its age, or only every
    PAYMENT_POLL_SAFETY_NET while webhooks are healthy; a payment link's
    PAYMENT_LINK_POLL_SCHEDULE, rarer than either; never after its last read), or None when
    the read just made was the last."""
    last = last_read_at(session_started_at, link_ends_at)
    if now >= last:
        return None
    age = now - session_started_at
    schedule = (
        settings.PAYMENT_LINK_POLL_SCHEDULE if link_ends_at else settings.PAYMENT_POLL_SCHEDULE
    )
    interval = next(interval for interval, until in schedule if until is None or age < until)
    if safety_net and link_ends_at is None and settings.PAYMENT_POLL_SAFETY_NET:
        interval = max(interval, settings.PAYMENT_POLL_SAFETY_NET)
    return min(now + interval, last)


# --- Claims -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A payment this worker holds for one read until `lease_until` (its next_poll_at)."""

    payment_id: int
    session_guid: str
    account: str
    currency: str
    session_started_at: datetime
    lease_until: datetime
    rung_at: datetime | None = None  # a webhook delivery asked for this read
    link_ends_at: datetime | None = None  # a payment link's end; None for a phone payment


def claim_due(
    *, limit: int, payment_id: int | None = None, due_by: datetime | None = None
) -> list[Claim]:
    """Claim up to `limit` live payments whose next read is due (by `due_by`, default now),
    most overdue first, by moving their next_poll_at to a lease: another worker skips them
    until the lease runs out, which is also how a killed worker's claims come back."""
    now = timezone.now()
    lease_until = now + settings.PAYMENT_POLL_LEASE
    due = Payment.objects.filter(
        state__in=READ_STATES,
        next_poll_at__lte=due_by or now,
        session_guid__isnull=False,
        session_started_at__isnull=False,
    ).order_by("next_poll_at")
    if payment_id is not None:
        due = due.filter(pk=payment_id)
    fields = ("pk", "next_poll_at", "session_guid", "flow__account", "order__currency", "rung_at")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list(
                    *fields, "session_started_at", "link_expires_at"
                )[:limit]
            )
            Payment.objects.filter(pk__in=[row[0] for row in rows]).update(next_poll_at=lease_until)
        else:  # SQLite: a conditional UPDATE per row, which must touch exactly that row
            rows = [
                row
                for row in due.values_list(*fields, "session_started_at", "link_expires_at")[:limit]
                if Payment.objects.filter(
                    pk=row[0], state__in=READ_STATES, next_poll_at=row[1]
                ).update(next_poll_at=lease_until)
            ]
    return [
        Claim(pk, guid, account, currency, started, lease_until, rung_at, link_ends)
        for pk, _, guid, account, currency, rung_at, started, link_ends in rows
    ]


# --- Reading, on a thread pool ----------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """What one read of a claimed session gave: a status, an error, or neither (not made)."""

    claim: Claim
    status: SessionStatus | None = None
    error: VccError | AccountConfigError | None = None
    sent_at: datetime | None = None  # when the GET was sent


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This process's pool (made after a fork, never inherited from the parent)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(
                max_workers=settings.PAYMENT_POLL_THREADS, thread_name_prefix="vcc-poll"
            )
            _pool_pid = os.getpid()
        return _pool


def read_session(claim: Claim, *, not_after: float | None = None) -> Read:
    """One GET of a claimed session, without the client's own retries (the schedule is the
    retry). Past `not_after` (time.monotonic) the read is not made. Only VCC is waited on in
    the pool's threads; the database work stays in the calling thread."""
    if not_after is not None and time.monotonic() > not_after:
        return Read(claim)
    sent_at = timezone.now()
    try:
        status = client_for(claim.account).get_session(
            claim.session_guid, currency=claim.currency, retry=False
        )
    except (VccError, AccountConfigError) as error:
        return Read(claim, error=error, sent_at=sent_at)
    return Read(claim, status=status, sent_at=sent_at)


def read_sessions(claims: Sequence[Claim], *, budget: timedelta) -> Iterator[Read]:
    """Read `claims` concurrently, yielding each read as it completes; reads not begun within
    `budget` are yielded unmade, so their payments go back to the poller at once."""
    not_after = time.monotonic() + budget.total_seconds()
    if len(claims) == 1:
        yield read_session(claims[0], not_after=not_after)
        return
    pool = _executor()
    futures = [pool.submit(read_session, claim, not_after=not_after) for claim in claims]
    for future in as_completed(futures):
        yield future.result()


# --- What a read means --------------------------------------------------------------------------


def read_claimed(claims: list[Claim], *, healthy: bool | None = None) -> Counter[str]:
    """Read claimed sessions and act on what they say; reads not begun before half the lease
    has gone are handed back to the poller."""
    if not claims:
        return Counter()
    reads = read_sessions(claims, budget=settings.PAYMENT_POLL_LEASE / 2)
    return record_reads(reads, healthy=healthy)


def record_reads(reads: Iterable[Read], *, healthy: bool | None = None) -> Counter[str]:
    """Act on what reading claimed sessions gave, and say how many ended which way.

    A finished session's result is applied; a purged one is outcome unknown; one that never
    progressed past the provider page's lifetime is expired; one still unfinished, or
    unreadable, at its last read is outcome unknown; any other is read again later: only as a
    safety net while webhooks are `healthy` (webhook_health, asked when not given). Webhook
    deliveries waiting for the session are settled against what VCC said. The reschedules are
    written together, each only while this worker's claim still holds."""
    now = timezone.now()
    safety_net = webhook_health.healthy() if healthy is None else healthy
    tally: Counter[str] = Counter()
    later: dict[tuple[datetime, datetime, bool], list[int]] = {}
    for read in reads:
        claim = read.claim
        outcome, when = _settle(read, now, safety_net=safety_net)
        tally[outcome] += 1
        if when is not None:
            later.setdefault((claim.lease_until, when, outcome != "released"), []).append(
                claim.payment_id
            )
    for (lease_until, when, was_read), ids in later.items():
        Payment.objects.filter(pk__in=ids, state__in=READ_STATES, next_poll_at=lease_until).update(
            next_poll_at=when, poll_count=F("poll_count") + 1 if was_read else F("poll_count")
        )
    return tally


def _settle(read: Read, now: datetime, *, safety_net: bool) -> tuple[str, datetime | None]:
    """Act on one read: the outcome's name, and when to read again (None when settled)."""
    claim, status, error = read.claim, read.status, read.error
    if status is None and error is None:
        return "released", now
    if status is not None and status.finished:
        with transaction.atomic():
            settled = webhooks.settle(
                payment_id=claim.payment_id, session_guid=claim.session_guid, vcc=status
            )
            # VCC's word is applied either way; the source says what brought it home.
            source = Source.WEBHOOK if settled.confirmed else Source.POLL
            services.apply_result(payment_id=claim.payment_id, status=status, source=source)
            _count_read(claim)
        _note_webhooks(claim, settled)
        return "finished", None
    if isinstance(error, VccSessionNotFound):
        reason = (
            "VCC no longer has this session (it keeps a result 15 minutes) and no result "
            f"reached us{services.CHECK_THE_GATEWAY}"
        )
        settled = _give_up(claim, services.mark_unknown, reason, vcc=None)
        _note_webhooks(claim, settled)
        return "purged", None
    started, link_ends = claim.session_started_at, claim.link_ends_at
    # A read a delivery asked for that failed is made again on the quick schedule.
    backed_off = safety_net and (status is not None or claim.rung_at is None)
    when = next_read_at(
        session_started_at=started, now=now, safety_net=backed_off, link_ends_at=link_ends
    )
    if status is not None:
        state = status.session_state or "no state"
        if link_ends is not None and when is None:
            reason = f"The payment link ended unused (VCC reported the session as '{state}')."
            _give_up(claim, services.expire_payment, reason, vcc=status)
            return "expired", None
        lifetime = settings.VCC_PAGE_LIFETIME
        page_ended = now - started >= lifetime + lifetime / PAGE_GRACE_SHARE
        if link_ends is None and status.never_changed and page_ended:
            minutes = settings.VCC_PAGE_LIFETIME.total_seconds() / 60
            _give_up(
                claim,
                services.expire_payment,
                f"The provider page timed out: VCC reported the session as '{state}' and "
                f"unchanged since it opened, {minutes:g} minutes and more after it started.",
                vcc=status,
            )
            return "expired", None
        if when is not None:
            if claim.rung_at is not None:
                with transaction.atomic():
                    webhooks.settle(
                        payment_id=claim.payment_id,
                        session_guid=claim.session_guid,
                        vcc=status,
                        read_at=read.sent_at,
                    )
            return "waiting", when
        why = (
            f"VCC still reported the session as '{state}' at our last read inside its "
            "result retention"
        )
    elif when is not None:
        log.warning(
            "payment=%s read failed: %s",
            claim.payment_id,
            error,
            extra=logcontext.payment_fields(claim.payment_id, claim.session_guid),
        )
        if isinstance(error, VccRateLimited) and error.retry_after:
            when = max(when, now + timedelta(seconds=error.retry_after))
        return ("bad_response" if isinstance(error, VccBadResponse) else "unavailable"), when
    else:
        why = f"The result could not be read from VCC before its retention ended ({error})"
    _give_up(claim, services.mark_unknown, f"{why}{services.CHECK_THE_GATEWAY}", vcc=status)
    return "unknown", None


class _Verdict(Protocol):
    def __call__(self, *, payment_id: int, reason: str, source: str = ...) -> Payment: ...


def _give_up(
    claim: Claim, verdict: _Verdict, reason: str, *, vcc: SessionStatus | None
) -> webhooks.Settled:
    """Settle a claimed payment without a result (expired, unknown), counting the read; its
    waiting webhook deliveries are settled against what VCC said (`vcc`), or unconfirmed."""
    with transaction.atomic():
        settled = webhooks.settle(
            payment_id=claim.payment_id, session_guid=claim.session_guid, vcc=vcc, why=reason
        )
        verdict(payment_id=claim.payment_id, reason=reason, source=Source.POLL)
        _count_read(claim)
    return settled


def _note_webhooks(claim: Claim, settled: webhooks.Settled) -> None:
    """What a session's end says about webhooks: confirmed, or missed (it ended with no
    delivery announcing it), for webhook_health."""
    if settled.confirmed:
        webhook_health.record_confirmed()
    elif not settled.any_stored and claim.rung_at is None:
        webhook_health.record_missed()


def _count_read(claim: Claim) -> None:
    """Count a settling read; a payment its agent abandoned is read no more."""
    Payment.objects.filter(pk=claim.payment_id).update(poll_count=F("poll_count") + 1)
    Payment.objects.filter(pk=claim.payment_id).exclude(state=State.IN_PROGRESS).update(
        next_poll_at=None
    )


# --- Rounds -----------------------------------------------------------------------------------


def run_round(*, worker: str = "", limit: int = ROUND_SIZE) -> Counter[str] | None:
    """One round of the batch poller (celery beat starts one every tick): claim the live
    payments whose read is due (or due within half a tick, so that it is not a tick late),
    most overdue first, as many as this second's read budget allows (all workers together:
    PAYMENT_POLL_MAX_READS_PER_SECOND); read their sessions concurrently; act on each read.
    Says how many ended which way, or None when `worker` runs PAYMENT_POLL_ROUNDS rounds
    already: kept below the worker's concurrency, a pool process is always free for webhooks,
    and rounds never pile up in the queue ahead of them when reads take longer than a tick."""
    slot = _take_round_slot(worker)
    if slot is None:
        return None
    try:
        healthy, stopped = webhook_health.check()
        now = timezone.now()
        if stopped:
            # Webhooks stopped being healthy: every live session back on the quick schedule.
            pulled = Payment.objects.filter(state__in=READ_STATES, next_poll_at__gt=now)
            log.warning(
                "webhooks no longer healthy: %s reads pulled in", pulled.update(next_poll_at=now)
            )
        due_by = now + settings.PAYMENT_POLL_TICK / 2
        budget = take_read_budget(limit)
        claims = claim_due(limit=budget.allowed, due_by=due_by) if budget.allowed else []
        budget.give_back(budget.reserved - len(claims))
        return read_claimed(claims, healthy=healthy)
    finally:
        cache.delete(slot)


@dataclass(frozen=True)
class ReadBudget:
    """The reads a round may make this second (`allowed`), of the `reserved` it counted."""

    key: str
    reserved: int
    allowed: int

    def give_back(self, count: int) -> None:
        """Uncount reads reserved but not made (over the limit, or not due)."""
        if self.key and count > 0:
            try:
                cache.decr(self.key, count)
            except Exception as error:  # the cache client's errors are its own
                log.warning("poll read budget not given back: %s", error)


def take_read_budget(wanted: int) -> ReadBudget:
    """Reserve `wanted` reads of this second's PAYMENT_POLL_MAX_READS_PER_SECOND, counted for
    all workers together in the cache, and say how many of them are allowed. With no limit, or
    the cache down, a round is bounded by its size alone."""
    limit = settings.PAYMENT_POLL_MAX_READS_PER_SECOND
    if not limit:
        return ReadBudget("", 0, wanted)
    key = f"payments:poll-reads:{int(time.time())}"
    try:
        cache.add(key, 0, timeout=10)
        before = cache.incr(key, wanted) - wanted
    except Exception as error:
        log.warning("poll read budget not counted: %s", error)
        return ReadBudget("", 0, wanted)
    return ReadBudget(key, wanted, max(0, min(wanted, limit - before)))


def _take_round_slot(worker: str) -> str | None:
    """Take one of `worker`'s PAYMENT_POLL_ROUNDS round slots (its pool processes meet in the
    cache; a killed round's slot frees itself with its lease), or None when all are taken."""
    timeout = int(settings.PAYMENT_POLL_LEASE.total_seconds())
    for number in range(settings.PAYMENT_POLL_ROUNDS):
        key = f"payments:poll-round:{worker}:{number}"
        if cache.add(key, 1, timeout=timeout):
            return key
    return None


def read_now(*, payment_id: int) -> Counter[str]:
    """Read one payment's session now if its read is due (within a second), else nothing.

    Not part of the normal flow, where rounds read every payment: one task per read costs the
    worker about five times the CPU of a read in a round (docs/results.md)."""
    soon = timezone.now() + timedelta(seconds=1)
    return read_claimed(claim_due(limit=1, payment_id=payment_id, due_by=soon))


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
        state__in=READ_STATES,
        session_started_at__lte=now - settings.VCC_RESULT_RETENTION,
        next_poll_at__lte=now,
    ).values_list("pk", flat=True)[:limit]
    claims = [claim for pk in overdue for claim in claim_due(limit=1, payment_id=pk)]
    report.final_reads = read_claimed(claims)
    for payment_id in Payment.objects.filter(
        state=State.STARTING, created_at__lte=now - START_STALE_AFTER
    ).values_list("pk", flat=True)[:limit]:
        services.fail_stale_start(payment_id=payment_id)
        report.stale_starts += 1
    stale = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.RECEIVED,
        received_at__lte=now - settings.WEBHOOK_REQUEUE_AFTER,
    ).values_list("pk", flat=True)[:limit]
    for delivery_id in stale:
        outbox.enqueue(webhooks.PROCESS_TASK, delivery_id)
        report.webhooks_requeued += 1
    oldest = (
        Payment.objects.filter(state__in=READ_STATES, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("next_poll_at", flat=True)
        .first()
    )
    report.poll_lag_seconds = (now - oldest).total_seconds() if oldest else 0.0
    return report
