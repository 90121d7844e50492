"""What happens when two celery beats run by mistake (docs/deploy.md): every tick then starts
two poll rounds at once, on two workers. payments.poller.run_round's claims (a lease written
on each due payment under `SELECT ... FOR UPDATE SKIP LOCKED`) keep them apart: against the
sandbox over real HTTP, each live session is read once per due read, never twice, tick after
tick."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments import poller, services
from payments.models import Payment
from tests import builders
from tests.conftest import SentTasks
from tests.sandbox_fixtures import Sandbox

SESSIONS = 12


def rounds_at_once(workers: list[str]) -> list[Counter[str]]:
    """One poll round per worker, started together (two beats' ticks, two worker processes:
    here two threads, each with its own database connection)."""
    start = threading.Barrier(len(workers))
    tallies: list[Counter[str]] = []

    def one_round(worker: str) -> None:
        try:
            start.wait(10)
            tallies.append(poller.run_round(worker=worker) or Counter())
        finally:
            connection.close()

    threads = [threading.Thread(target=one_round, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(tallies) == len(workers)
    return tallies


def test_two_beats_rounds_never_read_a_session_twice(
    sandbox: Sandbox, sent_tasks: SentTasks
) -> None:
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite serialises writers; PostgreSQL's row locks are what is shown")
    agent, flow = builders.agent_user().agent, builders.flow()
    for _ in range(SESSIONS):
        services.start_payment(order=builders.order(), flow=flow, agent=agent)
    Payment.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))
    reads_before = sandbox.stats()["session_gets"]

    for tick in (1, 2):
        tallies = rounds_at_once(["celery@w1", "celery@w2"])

        assert sum(tally.total() for tally in tallies) == SESSIONS
        assert sandbox.stats()["session_gets"] - reads_before == tick * SESSIONS
        assert set(Payment.objects.values_list("poll_count", flat=True)) == {tick}
        # Still waiting for the caller: due again (here at once, for the next tick).
        Payment.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))
