"""payments.services: apply_result, mark_unknown, expire_payment, resolve_payment and
blocking_reason — a result moves a payment and its order exactly once; repeats change nothing;
contradictions are flagged; unknown blocks a second payment until a supervisor decides."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from payments import orders, services
from payments.models import Order, Payment, PaymentEvent
from payments.vcc.types import SessionStatus
from tests import builders

pytestmark = pytest.mark.django_db
State = Payment.State
POLL, WEBHOOK = PaymentEvent.Source.POLL, PaymentEvent.Source.WEBHOOK


def apply(payment: Payment, status: SessionStatus, source: str = POLL) -> Payment:
    services.apply_result(payment_id=payment.pk, status=status, source=source)
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    return payment


def test_approval_pays_the_order_once_whatever_the_path() -> None:
    payment = builders.payment()
    status = builders.finished(payment.session_guid, "ACCEPT", reference="GW-42")
    apply(payment, status, WEBHOOK)
    apply(payment, status, POLL)
    apply(payment, status, WEBHOOK)
    assert payment.state == State.APPROVED
    assert payment.gateway_reference == "GW-42"
    assert payment.order.status == Order.Status.PAID
    assert payment.order.paid_amount == Decimal("12.40")
    assert payment.order.paid_at is not None
    kinds = list(payment.events.values_list("kind", "source"))
    assert kinds == [
        ("state_changed", "webhook"),
        ("repeated", "poll"),
        ("repeated", "webhook"),
    ]
    assert not payment.flagged


def test_unfinished_session_changes_nothing() -> None:
    payment = builders.payment()
    status = SessionStatus(
        session_guid=payment.session_guid, session_state="Whatever", finished=False
    )
    assert apply(payment, status).state == State.IN_PROGRESS
    assert payment.events.count() == 0


@pytest.mark.parametrize(
    ("decision", "state"),
    [
        ("REJECT", State.DECLINED),
        ("ERROR", State.ERROR),
        ("CANCEL", State.ABANDONED),
        ("REVIEW", State.UNKNOWN),
        ("SOMETHING_NEW", State.UNKNOWN),
        (None, State.ABANDONED),
    ],
)
def test_gateway_decisions_map_to_states(decision: str | None, state: str) -> None:
    payment = apply(builders.payment(), builders.finished("x", decision))
    assert payment.state == state
    assert payment.order.status == Order.Status.OPEN


def test_declined_after_approved_is_flagged_not_applied() -> None:
    payment = builders.payment()
    apply(payment, builders.finished(payment.session_guid, "ACCEPT"))
    apply(payment, builders.finished(payment.session_guid, "REJECT"), WEBHOOK)
    assert payment.state == State.APPROVED
    assert payment.flagged
    assert payment.order.status == Order.Status.PAID
    last = payment.events.last()
    assert last is not None and last.kind == "contradiction"


def test_approved_amount_differing_from_the_order_is_flagged() -> None:
    payment = apply(builders.payment(), builders.finished("x", "ACCEPT", amount="10.00"))
    assert payment.state == State.APPROVED and payment.flagged
    assert payment.order.paid_amount == Decimal("10.00")


def test_unknown_blocks_a_second_payment_until_a_supervisor_resolves(
    supervisor_user: User,
) -> None:
    payment = builders.payment()
    services.mark_unknown(payment_id=payment.pk, reason="Result purged before we read it")
    payment.refresh_from_db()
    assert payment.state == State.UNKNOWN
    reason = orders.blocking_reason(payment.order)
    assert reason is not None and "a supervisor must resolve it" in reason

    services.resolve_payment(
        payment=payment, supervisor=supervisor_user, outcome="not_taken", reason="Caller's bank"
    )
    payment.refresh_from_db()
    assert payment.state == State.ABANDONED and payment.resolved_by == supervisor_user
    assert orders.blocking_reason(payment.order) is None


def test_supervisor_can_confirm_money_taken(supervisor_user: User) -> None:
    payment = builders.payment()
    services.mark_unknown(payment_id=payment.pk, reason="VCC unreachable for 15 minutes")
    services.resolve_payment(
        payment=payment, supervisor=supervisor_user, outcome="approved", reason="Gateway portal"
    )
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert payment.state == State.APPROVED
    assert payment.order.status == Order.Status.PAID


def test_supervisor_reverses_a_flagged_approval(supervisor_user: User) -> None:
    payment = builders.payment()
    apply(payment, builders.finished(payment.session_guid, "ACCEPT"))
    apply(payment, builders.finished(payment.session_guid, "REJECT"))
    services.resolve_payment(
        payment=payment, supervisor=supervisor_user, outcome="not_taken", reason="Refused"
    )
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.state, payment.flagged) == (State.DECLINED, False)
    assert payment.order.status == Order.Status.OPEN and payment.order.paid_amount is None


def test_nothing_to_resolve_is_refused(supervisor_user: User) -> None:
    payment = apply(builders.payment(), builders.finished("x", "REJECT"))
    with pytest.raises(services.PaymentBlocked, match="nothing to resolve"):
        services.resolve_payment(
            payment=payment, supervisor=supervisor_user, outcome="approved", reason="?"
        )
    with pytest.raises(services.PaymentBlocked, match="reason"):
        services.resolve_payment(
            payment=builders.payment(state=State.UNKNOWN),
            supervisor=supervisor_user,
            outcome="approved",
            reason=" ",
        )


def test_late_result_after_unknown_is_kept_for_the_supervisor() -> None:
    payment = builders.payment()
    services.mark_unknown(payment_id=payment.pk, reason="timed out")
    apply(payment, builders.finished(payment.session_guid, "ACCEPT"), WEBHOOK)
    assert payment.state == State.UNKNOWN and payment.flagged
    last = payment.events.last()
    assert last is not None and last.data["decision"] == "ACCEPT"
    assert last.message.startswith("Late result for a supervisor to confirm")


def test_expire_and_unknown_leave_final_payments_alone() -> None:
    payment = apply(builders.payment(), builders.finished("x", "ACCEPT"))
    services.expire_payment(payment_id=payment.pk, reason="page timed out")
    services.mark_unknown(payment_id=payment.pk, reason="late sweep")
    payment.refresh_from_db()
    assert payment.state == State.APPROVED


def test_paid_or_live_orders_cannot_start_another(agent_user: User) -> None:
    live = builders.payment()
    assert "already in progress" in (orders.blocking_reason(live.order) or "")
    paid = apply(builders.payment(), builders.finished("y", "ACCEPT"))
    assert orders.blocking_reason(paid.order) == "This order is already paid."
    declined = apply(builders.payment(), builders.finished("z", "REJECT"))
    assert orders.blocking_reason(declined.order) is None
