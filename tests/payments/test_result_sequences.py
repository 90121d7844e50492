"""payments.services under any sequence of what can happen to a payment: results by webhook
(stored, rung, then confirmed by a read) and by poll (claimed, then recorded), repeated, late,
contradictory, forged (VCC says otherwise);
the poller giving up (unknown) or the page expiring; supervisors resolving. Whatever the order,
a result is applied at most once, nothing is lost, and the order always matches the payment."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from payments import poller, services, webhooks
from payments.models import Order, Payment, PaymentEvent
from payments.poller import Read
from payments.vcc.parsing import session_status
from tests import builders

State, Source, Kind = Payment.State, PaymentEvent.Source, PaymentEvent.Kind
DECISIONS = st.sampled_from(["ACCEPT", "REJECT", "ERROR", "CANCEL", "REVIEW", None])
REFERENCES = st.sampled_from(["GW-1", "GW-2"])
OUTCOMES = {
    "ACCEPT": State.APPROVED,
    "REJECT": State.DECLINED,
    "ERROR": State.ERROR,
    "CANCEL": State.ABANDONED,
    "REVIEW": State.UNKNOWN,
    None: State.ABANDONED,
}


class PaymentLife(RuleBasedStateMachine):
    supervisor: User

    def __init__(self) -> None:
        super().__init__()
        self.payment = builders.live_payment()
        self.guid = self.payment.session_guid or ""
        # The model: what must be true, worked out independently of the services.
        self.state: str = State.IN_PROGRESS
        self.reference = ""
        self.flagged = False
        self.results_seen = 0

    def _expect_result(self, decision: str | None, reference: str) -> None:
        self.results_seen += 1
        target = OUTCOMES[decision]
        if self.state == State.IN_PROGRESS:
            self.state, self.reference = target, reference if decision else ""
        elif not (self.state == target and (decision is None or reference == self.reference)):
            self.flagged = True

    def _body(self, decision: str | None, reference: str) -> dict[str, object]:
        return builders.session_body(self.guid, decision=decision, request_id=reference)

    @rule(decision=DECISIONS, reference=REFERENCES)
    def webhook_delivers(self, decision: str | None, reference: str) -> None:
        """VCC's delivery, and the read that confirms it: VCC says what it announced."""
        body = self._body(decision, reference)
        webhooks.receive(body=json.dumps(body))
        status = session_status(body, currency="GBP")
        claims = poller.claim_due(limit=1, payment_id=self.payment.pk)
        if claims:  # live: rung, and the poller's round reads it
            poller.record_reads([Read(claims[0], status=status)])
        else:  # settled already: webhooks.process reads it
            webhooks.confirm(payment_id=self.payment.pk, session_guid=self.guid, vcc=status, why="")
        self._expect_result(decision, reference)

    @precondition(lambda self: self.state == State.IN_PROGRESS)
    @rule(decision=DECISIONS)
    def forged_webhook_vcc_contradicts(self, decision: str | None) -> None:
        """A delivery announcing a result for a session VCC says is not finished."""
        webhooks.receive(body=json.dumps(self._body(decision, "GW-FORGED")))
        (claim,) = poller.claim_due(limit=1, payment_id=self.payment.pk)
        unfinished = session_status(builders.session_body(self.guid, state="InProgress"))
        poller.record_reads([Read(claim, status=unfinished)])
        self.flagged = True  # the evidence, never the result
        self.results_seen += 1

    @rule(decision=DECISIONS, reference=REFERENCES)
    def poll_reads(self, decision: str | None, reference: str) -> None:
        status = session_status(self._body(decision, reference), currency="GBP")
        claims = poller.claim_due(limit=1, payment_id=self.payment.pk)
        if claims:
            poller.record_reads([Read(claims[0], status=status)])
        else:
            services.apply_result(payment_id=self.payment.pk, status=status, source=Source.POLL)
        self._expect_result(decision, reference)

    @rule()
    def poll_sees_unfinished(self) -> None:
        status = session_status(builders.session_body(self.guid, state="InProgress"))
        for claim in poller.claim_due(limit=1, payment_id=self.payment.pk):
            poller.record_reads([Read(claim, status=status)])

    @rule()
    def result_window_closes(self) -> None:
        services.mark_unknown(payment_id=self.payment.pk, reason="window closed")
        if self.state == State.IN_PROGRESS:
            self.state = State.UNKNOWN

    @rule()
    def page_expires(self) -> None:
        services.expire_payment(payment_id=self.payment.pk, reason="page expired")
        if self.state == State.IN_PROGRESS:
            self.state = State.EXPIRED

    @rule(outcome=st.sampled_from(services.RESOLUTIONS))
    def supervisor_resolves(self, outcome: str) -> None:
        payment = Payment.objects.get(pk=self.payment.pk)
        if self.state == State.IN_PROGRESS or (self.state != State.UNKNOWN and not self.flagged):
            with pytest.raises(services.PaymentBlocked):
                services.resolve_payment(
                    payment=payment, supervisor=self.supervisor, outcome=outcome, reason="x"
                )
            return
        services.resolve_payment(
            payment=payment, supervisor=self.supervisor, outcome=outcome, reason="checked"
        )
        self.flagged = False
        if outcome == "approved":
            self.state = State.APPROVED
        elif self.state == State.UNKNOWN:
            self.state = State.ABANDONED
        elif self.state == State.APPROVED:
            self.state = State.DECLINED

    @invariant()
    def payment_and_order_agree_with_the_model(self) -> None:
        payment = Payment.objects.select_related("order").get(pk=self.payment.pk)
        order = payment.order
        assert payment.state == self.state
        assert payment.flagged == self.flagged
        paid = self.state == State.APPROVED
        assert order.status == (Order.Status.PAID if paid else Order.Status.OPEN)
        assert order.paid_amount == (Decimal("12.40") if paid else None)
        assert (order.paid_at is not None) == paid
        if self.state != State.IN_PROGRESS:
            assert payment.next_poll_at is None

    @invariant()
    def a_result_is_applied_at_most_once_and_every_one_is_recorded(self) -> None:
        events = PaymentEvent.objects.filter(payment_id=self.payment.pk)
        automatic = events.exclude(source=Source.SUPERVISOR)
        assert automatic.filter(kind=Kind.STATE_CHANGED).count() <= 1
        assert automatic.filter(source__in=[Source.WEBHOOK, Source.POLL]).count() == (
            self.results_seen
        )


@pytest.mark.django_db
def test_any_sequence_keeps_results_once_and_orders_right(supervisor_user: User) -> None:
    PaymentLife.supervisor = supervisor_user
    run_state_machine_as_test(
        PaymentLife,
        settings=hypothesis_settings(max_examples=60, stateful_step_count=12, deadline=None),
    )
