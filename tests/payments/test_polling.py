"""poller.next_read_at, claim_polls and record_polls: the poll schedule, claiming due
payments, and what each read of a session does to its payment."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from payments import orders, poller, services
from payments.models import Order, Payment, PaymentEvent
from payments.poller import Claim, Read
from payments.vcc.errors import VccBadResponse, VccRateLimited, VccSessionNotFound, VccUnavailable
from payments.vcc.parsing import session_status
from tests import builders

State = Payment.State
T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def schedule(settings: Settings) -> None:
    settings.PAYMENT_POLL_SCHEDULE = (
        (timedelta(seconds=1), timedelta(minutes=3)),
        (timedelta(seconds=5), timedelta(minutes=10)),
        (timedelta(seconds=15), None),
    )
    settings.VCC_RESULT_RETENTION = timedelta(minutes=15)
    settings.VCC_PAGE_LIFETIME = timedelta(minutes=10)


@pytest.mark.parametrize(
    "age, wait",
    [
        (timedelta(0), 1),
        (timedelta(minutes=2, seconds=59), 1),
        (timedelta(minutes=3), 5),
        (timedelta(minutes=9, seconds=59), 5),
        (timedelta(minutes=10), 15),
        (timedelta(minutes=14, seconds=20), 10),  # capped at the last read
    ],
)
def test_reads_are_quick_first_then_back_off(age: timedelta, wait: float) -> None:
    when = poller.next_read_at(session_started_at=T0, now=T0 + age)
    assert when == T0 + age + timedelta(seconds=wait)


def test_the_last_read_is_inside_the_retention_window() -> None:
    last = T0 + timedelta(minutes=14, seconds=30)
    assert poller.last_read_at(T0) == last
    assert poller.next_read_at(session_started_at=T0, now=last) is None
    now, reads = T0, 0
    while (when := poller.next_read_at(session_started_at=T0, now=now)) is not None:
        now, reads = when, reads + 1
    assert now == last
    assert reads == 180 + 84 + 18  # 1 s for 3 min, 5 s to 10 min, 15 s to 14:30


# --- Claims ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_due_live_payments_are_claimed_most_overdue_first() -> None:
    late = builders.live_payment(next_poll_in=timedelta(seconds=-30))
    due = builders.live_payment(order=builders.order(), next_poll_in=timedelta(seconds=-1))
    builders.live_payment(order=builders.order(), next_poll_in=timedelta(seconds=30))
    builders.live_payment(order=builders.order(), next_poll_in=None)
    claims = poller.claim_due(limit=10)
    assert [claim.payment_id for claim in claims] == [late.pk, due.pk]
    late.refresh_from_db()
    assert late.next_poll_at == claims[0].lease_until
    assert poller.claim_due(limit=10) == []  # held by the lease


@pytest.mark.django_db
def test_a_claim_respects_the_limit_and_the_payment() -> None:
    payments = [builders.live_payment(order=builders.order()) for _ in range(3)]
    assert len(poller.claim_due(limit=2)) == 2
    only = poller.claim_due(limit=5, payment_id=payments[0].pk)
    assert [claim.payment_id for claim in only] in ([], [payments[0].pk])


@pytest.mark.usefixtures("committed_db")
def test_a_payment_locked_elsewhere_is_skipped_not_waited_for() -> None:
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite serialises writers; there is no row lock to skip")
    import threading

    from django.db import transaction

    locked = builders.live_payment()
    free = builders.live_payment(order=builders.order())
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with transaction.atomic():
            Payment.objects.select_for_update().get(pk=locked.pk)
            holding.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    holding.wait(10)
    try:
        assert [claim.payment_id for claim in poller.claim_due(limit=10)] == [free.pk]
    finally:
        release.set()
        holder.join()


# --- Reads -------------------------------------------------------------------------------------


def claim_of(payment: Payment) -> Claim:
    (claim,) = poller.claim_due(limit=1, payment_id=payment.pk)
    return claim


def status(payment: Payment, **body: object) -> Read:
    assert payment.session_guid
    parsed = session_status(builders.session_body(payment.session_guid, **body), currency="GBP")  # type: ignore[arg-type]
    return Read(claim_of(payment), status=parsed)


@pytest.mark.django_db
def test_a_finished_session_is_applied_and_polling_stops() -> None:
    payment = builders.live_payment()
    tally = poller.record_reads([status(payment)])
    payment.refresh_from_db()
    assert tally == {"finished": 1}
    assert payment.state == State.APPROVED and payment.next_poll_at is None
    assert payment.poll_count == 1
    assert payment.order.status == Order.Status.PAID
    assert payment.events.get().source == PaymentEvent.Source.POLL


@pytest.mark.django_db
def test_an_unfinished_session_is_read_again_on_schedule() -> None:
    payment = builders.live_payment(started_ago=timedelta(minutes=4))
    before = timezone.now()
    tally = poller.record_reads([status(payment, state="InProgress")])
    payment.refresh_from_db()
    assert tally == {"waiting": 1}
    assert payment.state == State.IN_PROGRESS and payment.poll_count == 1
    assert (
        before + timedelta(seconds=5)
        <= payment.next_poll_at
        <= timezone.now() + timedelta(seconds=5)
    )
    assert not payment.events.exists()


@pytest.mark.django_db
def test_a_read_after_the_result_arrived_another_way_does_not_rearm_polling() -> None:
    payment = builders.live_payment()
    read = status(payment, state="InProgress")
    services.apply_result(
        payment_id=payment.pk,
        status=session_status(builders.session_body(payment.session_guid or ""), currency="GBP"),
        source=PaymentEvent.Source.WEBHOOK,
    )
    poller.record_reads([read])
    payment.refresh_from_db()
    assert payment.state == State.APPROVED and payment.next_poll_at is None


@pytest.mark.django_db
def test_a_purged_session_is_outcome_unknown_never_failed() -> None:
    payment = builders.live_payment()
    error = VccSessionNotFound("gone", status=404)
    assert poller.record_reads([Read(claim_of(payment), error=error)]) == {"purged": 1}
    payment.refresh_from_db()
    assert payment.state == State.UNKNOWN
    assert "no longer has this session" in payment.message
    assert orders.blocking_reason(payment.order)


@pytest.mark.django_db
def test_a_session_that_never_progressed_expires_with_the_provider_page() -> None:
    young = builders.live_payment(started_ago=timedelta(minutes=10))  # inside the grace
    old = builders.live_payment(order=builders.order(), started_ago=timedelta(minutes=11))
    tally = poller.record_reads(
        [status(young, state="Created", **UNTOUCHED), status(old, state="Created", **UNTOUCHED)]
    )
    assert tally == {"waiting": 1, "expired": 1}
    assert Payment.objects.get(pk=old.pk).state == State.EXPIRED
    assert Payment.objects.get(pk=young.pk).state == State.IN_PROGRESS


# A session VCC saw no change to since it opened: nothing was keyed.
UNTOUCHED = {"createdOn": "2025-01-01T10:00:00Z", "lastUpdatedOn": "2025-01-01T10:00:00Z"}


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["Pending", "InProgress", "Created", "Open"])
def test_a_never_keyed_session_expires_whatever_vcc_calls_its_state(word: str) -> None:
    payment = builders.live_payment(started_ago=timedelta(minutes=11))
    assert poller.record_reads([status(payment, state=word, **UNTOUCHED)]) == {"expired": 1}
    payment.refresh_from_db()
    assert payment.state == State.EXPIRED
    assert orders.blocking_reason(payment.order) is None  # the agent may restart


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["Pending", "InProgress", "Created"])
def test_a_session_that_changed_is_never_expired_and_ends_unknown(word: str) -> None:
    payment = builders.live_payment(started_ago=timedelta(minutes=11))
    # builders.session_body: lastUpdatedOn two minutes after createdOn (someone keyed).
    assert poller.record_reads([status(payment, state=word)]) == {"waiting": 1}
    last = builders.live_payment(
        order=builders.order(), started_ago=timedelta(minutes=14, seconds=31)
    )
    assert poller.record_reads([status(last, state=word)]) == {"unknown": 1}
    last.refresh_from_db()
    assert last.state == State.UNKNOWN


@pytest.mark.django_db
def test_a_session_still_unfinished_at_the_last_read_is_outcome_unknown() -> None:
    payment = builders.live_payment(started_ago=timedelta(minutes=14, seconds=31))
    assert poller.record_reads([status(payment, state="InProgress")]) == {"unknown": 1}
    payment.refresh_from_db()
    assert payment.state == State.UNKNOWN
    assert "'InProgress' at our last read" in payment.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error, outcome",
    [
        (VccUnavailable("down", status=503), "unavailable"),
        (VccBadResponse("garbled"), "bad_response"),
        (VccRateLimited("slow down", retry_after=20), "unavailable"),
    ],
)
def test_an_unreadable_session_is_read_again_later(error: Exception, outcome: str) -> None:
    payment = builders.live_payment()
    tally = poller.record_reads([Read(claim_of(payment), error=error)])  # type: ignore[arg-type]
    payment.refresh_from_db()
    assert tally == {outcome: 1}
    assert payment.state == State.IN_PROGRESS
    wait = 20 if isinstance(error, VccRateLimited) else 1
    assert payment.next_poll_at >= timezone.now() + timedelta(seconds=wait - 1)


@pytest.mark.django_db
def test_an_unreadable_session_at_its_last_read_is_outcome_unknown() -> None:
    payment = builders.live_payment(started_ago=timedelta(minutes=15))
    read = Read(claim_of(payment), error=VccUnavailable("VCC is down", status=503))
    assert poller.record_reads([read]) == {"unknown": 1}
    payment.refresh_from_db()
    assert payment.state == State.UNKNOWN
    assert "could not be read from VCC before its retention ended (VCC is down)" in payment.message


@pytest.mark.django_db
def test_a_read_not_made_hands_the_payment_straight_back() -> None:
    payment = builders.live_payment()
    assert poller.record_reads([Read(claim_of(payment))]) == {"released": 1}
    payment.refresh_from_db()
    assert payment.next_poll_at <= timezone.now() and payment.poll_count == 0


@pytest.mark.django_db
def test_a_claim_taken_over_by_another_worker_is_not_overwritten() -> None:
    payment = builders.live_payment()
    read = status(payment, state="InProgress")
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=T0)  # someone else's lease
    poller.record_reads([read])
    payment.refresh_from_db()
    assert payment.next_poll_at == T0 and payment.poll_count == 0


@pytest.mark.django_db
def test_a_worker_runs_at_most_its_rounds_at_once(settings: Settings) -> None:
    settings.PAYMENT_POLL_ROUNDS = 1
    # An account that no longer exists: a read fails without reaching any server.
    retired = builders.flow(name="Retired", account="retired", is_default=False)
    payment = builders.live_payment(flow=retired, next_poll_in=timedelta(seconds=-1))
    busy = poller._take_round_slot("worker-1")  # a round of worker-1's under way
    try:
        assert busy is not None
        assert poller._take_round_slot("worker-1") is None
        assert poller.run_round(worker="worker-1") is None  # waits for its round to end
        assert Payment.objects.get(pk=payment.pk).poll_count == 0
        assert poller.run_round(worker="worker-2") == {"unavailable": 1}  # another worker
    finally:
        cache.delete(busy or "")
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now())
    assert poller.run_round(worker="worker-1") == {"unavailable": 1}
    assert Payment.objects.get(pk=payment.pk).poll_count == 2


@pytest.mark.django_db
def test_a_worker_started_again_after_a_kill_polls_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole worker SIGKILLed mid-round: its round slots stay taken until their lease ends.
    Started again under the same name (a new main process), it polls at its next tick."""
    from payments import tasks

    settings.PAYMENT_POLL_ROUNDS = 1
    retired = builders.flow(name="Retired", account="retired", is_default=False)
    payment = builders.live_payment(flow=retired, next_poll_in=timedelta(seconds=-1))
    worker = SimpleNamespace(request=SimpleNamespace(hostname="celery@desk-1"))
    monkeypatch.setattr(os, "getppid", lambda: 4100)  # the worker that was killed
    dead = poller._take_round_slot(tasks.worker_identity(worker))  # its round, never ended
    try:
        tasks._round(worker, "poll_due")
        assert Payment.objects.get(pk=payment.pk).poll_count == 0  # its slots are still taken
        monkeypatch.setattr(os, "getppid", lambda: 4200)  # started again
        tasks._round(worker, "poll_due")
        assert Payment.objects.get(pk=payment.pk).poll_count == 1
    finally:
        cache.delete(dead or "")


@pytest.mark.django_db
def test_reads_a_second_stay_within_the_limit_for_all_workers_together(
    settings: Settings,
) -> None:
    """A webhook outage with many sessions live: PAYMENT_POLL_MAX_READS_PER_SECOND reads a
    second at most, however many rounds and workers ask; a round's unused reservation is given
    back; the rest wait for the next second, most overdue first."""
    settings.PAYMENT_POLL_MAX_READS_PER_SECOND = 3
    retired = builders.flow(name="Retired", account="retired", is_default=False)

    def due(ago: int) -> Payment:  # its read fails at once, and is due again a second later
        return builders.live_payment(flow=retired, next_poll_in=timedelta(seconds=-ago))

    time.sleep(1 - time.time() % 1)  # at the start of a second, so that it holds the rounds
    due(10)
    assert poller.run_round(worker="worker-1") == {"unavailable": 1}  # reserved 100, used 1
    due(10)
    assert poller.run_round(worker="worker-2") == {"unavailable": 1}
    waiting = [due(60), due(50), due(40)]
    assert poller.run_round(worker="worker-1") == {"unavailable": 1}  # the 3rd read this second
    assert poller.run_round(worker="worker-2") == {}
    counts = Payment.objects.filter(pk__in=[w.pk for w in waiting]).order_by("pk")
    assert list(counts.values_list("poll_count", flat=True)) == [1, 0, 0]  # the most overdue
    time.sleep(1 - time.time() % 1)
    tally = poller.run_round(worker="worker-1")
    assert tally is not None and tally.total() == 3
    assert all(Payment.objects.get(pk=w.pk).poll_count == 1 for w in waiting)


@pytest.mark.parametrize(("value", "says"), [("-5", "not -5"), ("lots", "invalid literal")])
def test_a_read_ceiling_that_is_not_a_count_stops_the_app_starting(value: str, says: str) -> None:
    """A negative ceiling would stop every read in silence: the settings refuse it, as they
    refuse a word, before any process starts."""
    started = subprocess.run(
        [sys.executable, "-c", "import agentdesk.settings"],
        env={**os.environ, "PAYMENT_POLL_MAX_READS_PER_SECOND": value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode != 0 and says in started.stderr
