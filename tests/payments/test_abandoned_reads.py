"""services.abandon_payment and the poller after it: an attempt its agent abandoned frees the
order, and its session is read on until it ends; what the reads find is a late result."""

from datetime import timedelta

import pytest
from pytest_django import Settings

from payments import orders, poller, services, webhooks
from payments.models import Payment, PaymentEvent
from payments.poller import Read
from payments.vcc.errors import VccSessionNotFound
from payments.vcc.parsing import session_status
from tests import builders

State = Payment.State
Kind = PaymentEvent.Kind
UNTOUCHED = {"createdOn": "2025-01-01T10:00:00Z", "lastUpdatedOn": "2025-01-01T10:00:00Z"}


@pytest.fixture(autouse=True)
def lifetimes(settings: Settings) -> None:
    settings.VCC_RESULT_RETENTION = timedelta(minutes=15)
    settings.VCC_PAGE_LIFETIME = timedelta(minutes=10)


def abandoned(started_ago: timedelta = timedelta(0)) -> Payment:
    payment = builders.live_payment(started_ago=started_ago)
    return services.abandon_payment(payment=payment, agent=payment.agent)


def read(payment: Payment, **body: object) -> Read:
    (claim,) = poller.claim_due(limit=1, payment_id=payment.pk)
    assert payment.session_guid
    body_ = builders.session_body(payment.session_guid, **body)  # type: ignore[arg-type]
    return Read(claim, status=session_status(body_, currency="GBP"))


@pytest.mark.django_db
def test_an_abandoned_attempt_frees_the_order_and_is_still_read() -> None:
    payment = abandoned()
    assert payment.state == State.ABANDONED
    assert orders.blocking_reason(payment.order) is None
    event = payment.events.get(to_state=State.ABANDONED)
    assert event.source == PaymentEvent.Source.AGENT and event.actor == payment.agent.user
    assert [claim.payment_id for claim in poller.claim_due(limit=10)] == [payment.pk]


@pytest.mark.django_db
def test_only_its_own_agent_abandons_an_attempt() -> None:
    payment = builders.live_payment()
    other = builders.agent_user("agent2", vcc_agent_id="1002").agent
    assert services.abandon_payment(payment=payment, agent=other).state == State.IN_PROGRESS


@pytest.mark.django_db
def test_an_unfinished_abandoned_session_is_read_again() -> None:
    payment = abandoned(started_ago=timedelta(minutes=4))
    assert poller.record_reads([read(payment, state="InProgress")]) == {"waiting": 1}
    payment.refresh_from_db()
    assert payment.state == State.ABANDONED and payment.next_poll_at is not None


@pytest.mark.django_db
def test_a_late_approval_of_an_abandoned_attempt_is_flagged_and_reads_stop() -> None:
    payment = abandoned()
    assert poller.record_reads([read(payment)]) == {"finished": 1}
    payment.refresh_from_db()
    assert (payment.state, payment.flagged, payment.next_poll_at) == (
        State.ABANDONED,
        True,
        None,
    )
    assert payment.events.filter(kind=Kind.CONTRADICTION).count() == 1


@pytest.mark.django_db
def test_an_abandoned_page_that_expires_untouched_ends_the_reads_quietly() -> None:
    payment = abandoned(started_ago=timedelta(minutes=11))
    assert poller.record_reads([read(payment, state="Created", **UNTOUCHED)]) == {"expired": 1}
    payment.refresh_from_db()
    assert (payment.state, payment.flagged, payment.next_poll_at) == (
        State.ABANDONED,
        False,
        None,
    )


@pytest.mark.django_db
def test_an_abandoned_session_purged_unread_is_flagged_for_a_supervisor() -> None:
    payment = abandoned()
    (claim,) = poller.claim_due(limit=1, payment_id=payment.pk)
    error = VccSessionNotFound("gone", status=404)
    assert poller.record_reads([Read(claim, error=error)]) == {"purged": 1}
    payment.refresh_from_db()
    assert (payment.state, payment.flagged, payment.next_poll_at) == (
        State.ABANDONED,
        True,
        None,
    )
    assert "result was not read" in payment.events.get(kind=Kind.NOTE).message


@pytest.mark.django_db
def test_a_webhook_result_for_an_abandoned_attempt_ends_the_reads() -> None:
    payment = abandoned()
    assert payment.session_guid
    services.apply_result(
        payment_id=payment.pk,
        status=session_status(builders.session_body(payment.session_guid), currency="GBP"),
        source=PaymentEvent.Source.WEBHOOK,
    )
    payment.refresh_from_db()
    assert payment.flagged and payment.next_poll_at is None
    assert poller.claim_due(limit=10) == []  # no second contradiction from a later read


@pytest.mark.django_db
def test_a_repeated_webhook_for_a_hung_up_session_does_not_read_it_again() -> None:
    """A caller who hung up ends the attempt abandoned and its reads with it: VCC sending the
    result again rings no read (the delivery is settled by a task), where an attempt its agent
    abandoned while the session was open is read at once."""
    hung_up = builders.live_payment()
    assert hung_up.session_guid
    services.apply_result(
        payment_id=hung_up.pk,
        status=session_status(
            builders.session_body(hung_up.session_guid, decision=None), currency="GBP"
        ),
        source=PaymentEvent.Source.WEBHOOK,
    )
    hung_up.refresh_from_db()
    assert (hung_up.state, hung_up.next_poll_at) == (State.ABANDONED, None)
    assert not webhooks.ring(hung_up.session_guid)
    hung_up.refresh_from_db()
    assert hung_up.next_poll_at is None and poller.claim_due(limit=10) == []

    left = abandoned()
    assert left.session_guid and webhooks.ring(left.session_guid)
    assert [claim.payment_id for claim in poller.claim_due(limit=10)] == [left.pk]
