"""Payment links under the sandbox's two link fault knobs, over real HTTP: a link that ends
unused (VCC finishes its session with no payment: the attempt is expired at the end VCC
reported, and a new link may be sent, never two live ones) and a link the caller never opens
(read rarely, the order open and the link live)."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from agentdesk.staff.models import Agent
from payments import orders, poller, services
from payments.models import Order, Payment, PaymentFlow
from payments.vcc.client import DIGITAL_LINK_LIFETIME
from tests import builders
from tests.sandbox_fixtures import Sandbox

State = Payment.State
MOBILE = "+447400123456"


@pytest.fixture
def link_flow(sandbox: Sandbox) -> PaymentFlow:
    sandbox.webhooks_off()  # the reads alone bring the results home here
    return builders.flow(allows_links=True)


def send(order: Order, flow: PaymentFlow) -> Payment:
    agent = Agent.objects.first() or builders.agent_user().agent
    return services.start_payment(order=order, flow=flow, agent=agent, link_to=MOBILE).payment


def read_now(payment: Payment) -> dict[str, int]:
    Payment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now())
    return dict(poller.read_now(payment_id=payment.pk))


def test_a_link_vcc_ends_unused_expires_at_its_reported_end_and_may_be_sent_again(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    order = builders.order()
    first = send(order, link_flow)
    assert first.session_guid and first.link_expires_at is not None
    sandbox.end_link(first.session_guid)
    assert read_now(first) == {"finished": 1}
    first.refresh_from_db()
    assert first.state == State.EXPIRED and first.order.status == Order.Status.OPEN
    assert "payment link ended unused" in first.events.last().message
    # The attempt's end is the one VCC reported (the session's last update), not 72 h.
    ended = sandbox.api_session(first.session_guid)["lastUpdatedOn"]
    assert first.link_expires_at.isoformat(timespec="milliseconds")[:23] == ended[:23]
    assert first.link_expires_at < first.session_started_at + DIGITAL_LINK_LIFETIME
    # The caller's phone says so too.
    link = requests.get(f"{sandbox.url}/pay/{first.session_guid}/", timeout=5).text
    assert "This payment link has expired." in link and 'id="pay"' not in link
    # Re-sent: a new session, a new message; and never two live links for the order.
    second = send(order, link_flow)
    assert second.session_guid != first.session_guid and second.state == State.IN_PROGRESS
    assert second.link_expires_at is not None
    assert second.link_expires_at - second.session_started_at == DIGITAL_LINK_LIFETIME
    with pytest.raises(orders.PaymentBlocked):
        send(order, link_flow)
    assert sandbox.stats()["digital_sessions_created"] == 2
    assert order.payments.filter(state__in=Payment.LIVE_STATES).count() == 1


def test_a_link_already_paid_cannot_be_ended_by_the_knob(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    payment = send(builders.order(), link_flow)
    assert payment.session_guid
    sandbox.complete(payment.session_guid, "approved")
    with pytest.raises(Exception, match="409"):
        sandbox.end_link(payment.session_guid)
    assert read_now(payment) == {"finished": 1}
    payment.refresh_from_db()
    assert payment.state == State.APPROVED


def test_a_link_never_opened_is_read_rarely_and_the_order_stays_open_with_it_live(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    order = builders.order()
    payment = send(order, link_flow)
    assert payment.session_guid
    assert sandbox.never_open_link(payment.session_guid)["never_opened"] is True
    hosted = requests.get(f"{sandbox.url}/pay/{payment.session_guid}/", timeout=5)
    assert hosted.status_code == 404
    # Rounds come every second; none reads the link before its first read is due.
    for _ in range(5):
        poller.run_round(worker="test")
    assert sandbox.stats()["session_gets"] == 0
    # Its first read is due: one GET, the session untouched, and the next read far off.
    before = timezone.now()
    assert read_now(payment) == {"waiting": 1}
    for _ in range(3):
        poller.run_round(worker="test")
    assert sandbox.stats()["session_gets"] == 1
    payment.refresh_from_db()
    assert payment.state == State.IN_PROGRESS and payment.next_poll_at is not None
    assert payment.next_poll_at >= before + timedelta(minutes=10)
    assert order.status == Order.Status.OPEN
    reason = orders.blocking_reason(order)
    assert reason and f"A payment link sent to {MOBILE}" in reason
    session = sandbox.session(payment.session_guid)
    assert (session["state"], session["page_expired"]) == ("Created", False)


def test_a_link_its_agent_abandoned_then_ended_unused_is_not_flagged(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    payment = send(builders.order(), link_flow)
    assert payment.session_guid
    services.abandon_payment(payment=payment, agent=payment.agent)
    sandbox.end_link(payment.session_guid)
    assert read_now(payment) == {"finished": 1}
    payment.refresh_from_db()
    assert payment.state == State.ABANDONED and not payment.flagged
    assert payment.next_poll_at is None
    assert "Repeated result" in payment.events.last().message
