"""Reading many VCC sessions at once: the batch poller's HTTP, on a thread pool.

The database work stays in the calling thread (payments.services claims the payments and
records what was read); the threads only wait on VCC, which is where a poller spends its time.
"""

import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for
from payments.vcc.errors import VccError
from payments.vcc.types import SessionStatus


@dataclass(frozen=True)
class PollClaim:
    """A payment this worker holds for one read until `lease_until` (its next_poll_at)."""

    payment_id: int
    session_guid: str
    account: str
    currency: str
    session_started_at: datetime
    lease_until: datetime


@dataclass(frozen=True)
class PollRead:
    """What one read of a claimed session gave: a status, an error, or neither (not read)."""

    claim: PollClaim
    status: SessionStatus | None = None
    error: VccError | AccountConfigError | None = None


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


def read_session(claim: PollClaim, *, not_after: float | None = None) -> PollRead:
    """One GET of a claimed session, without the client's own retries (the poll schedule is
    the retry). Past `not_after` (time.monotonic) the read is not made."""
    if not_after is not None and time.monotonic() > not_after:
        return PollRead(claim)
    try:
        status = client_for(claim.account).get_session(
            claim.session_guid, currency=claim.currency, retry=False
        )
    except (VccError, AccountConfigError) as error:
        return PollRead(claim, error=error)
    return PollRead(claim, status=status)


def read_sessions(claims: Sequence[PollClaim], *, budget: timedelta) -> Iterator[PollRead]:
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
