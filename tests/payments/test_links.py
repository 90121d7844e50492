"""Payment links (VCC digital sessions): poller.next_read_at's schedule for a link, what a read
of a link's session does (read rarely for 72 hours, paid days later, expired at the link's end),
and services.start_payment(link_to=…) against the sandbox over real HTTP, with the sandbox's
SMS inbox and hosted card form playing the caller's phone."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone
from pytest_django import Settings

from agentdesk.staff.models import Agent
from payments import orders, poller, services
from payments.models import Order, Payment, PaymentFlow
from payments.poller import Read
from payments.vcc.client import DIGITAL_LINK_LIFETIME
from payments.vcc.parsing import session_status
from tests import builders
from tests.sandbox_fixtures import Sandbox

State = Payment.State
T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
MOBILE = "+447400123456"


@pytest.fixture(autouse=True)
def schedules(settings: Settings) -> None:
    settings.PAYMENT_LINK_POLL_SCHEDULE = (
        (timedelta(minutes=10), timedelta(minutes=30)),
        (timedelta(hours=4), None),
    )
    settings.VCC_RESULT_RETENTION = timedelta(minutes=15)
    settings.VCC_PAGE_LIFETIME = timedelta(minutes=10)


# --- The schedule ------------------------------------------------------------------------------


def test_a_link_is_read_every_ten_minutes_then_every_four_hours_until_after_it_ends() -> None:
    ends = T0 + DIGITAL_LINK_LIFETIME
    last = ends + timedelta(minutes=14, seconds=30)
    assert poller.last_read_at(T0, ends) == last
    reads, now = [], T0
    while when := poller.next_read_at(session_started_at=T0, now=now, link_ends_at=ends):
        reads.append(when - T0)
        now = when
    assert reads[:4] == [timedelta(minutes=m) for m in (10, 20, 30)] + [timedelta(hours=4.5)]
    assert reads[-1] == last - T0  # once after the link has ended, inside VCC's retention
    assert len(reads) == 3 + 17 + 1
    # A phone payment's schedule is not changed by it.
    assert poller.next_read_at(session_started_at=T0, now=T0 + timedelta(hours=1)) is None


# --- Reads of a link's session -----------------------------------------------------------------


def link_payment(started_ago: timedelta, **fields: object) -> Payment:
    started = timezone.now() - started_ago
    return builders.live_payment(
        started_ago=started_ago,
        kind=Payment.Kind.LINK,
        link_phone=MOBILE,
        link_expires_at=started + DIGITAL_LINK_LIFETIME,
        **fields,
    )


def read(payment: Payment, **body: object) -> Read:
    (claim,) = poller.claim_due(limit=1, payment_id=payment.pk)
    assert payment.session_guid and claim.link_ends_at == payment.link_expires_at
    parsed = session_status(builders.session_body(payment.session_guid, **body), currency="GBP")  # type: ignore[arg-type]
    return Read(claim, status=parsed)


UNTOUCHED = {"createdOn": "2025-01-01T10:00:00Z", "lastUpdatedOn": "2025-01-01T10:00:00Z"}


@pytest.mark.django_db
def test_an_unopened_link_is_not_expired_with_an_agent_page_and_is_read_again_later() -> None:
    payment = link_payment(timedelta(hours=2))
    before = timezone.now()
    assert poller.record_reads([read(payment, state="Created", **UNTOUCHED)]) == {"waiting": 1}
    payment.refresh_from_db()
    assert payment.state == State.IN_PROGRESS
    assert payment.next_poll_at is not None
    assert payment.next_poll_at >= before + timedelta(hours=4)


@pytest.mark.django_db
def test_a_link_paid_days_later_pays_the_order() -> None:
    payment = link_payment(timedelta(days=2, hours=23))
    assert poller.record_reads([read(payment)]) == {"finished": 1}
    payment.refresh_from_db()
    assert payment.state == State.APPROVED and payment.order.status == Order.Status.PAID


@pytest.mark.django_db
def test_a_link_unused_at_its_last_read_has_expired_not_unknown() -> None:
    payment = link_payment(DIGITAL_LINK_LIFETIME + timedelta(minutes=14, seconds=40))
    assert poller.record_reads([read(payment, state="Created", **UNTOUCHED)]) == {"expired": 1}
    payment.refresh_from_db()
    assert (
        payment.state == State.EXPIRED
        and "payment link ended unused" in payment.events.last().message
    )
    assert orders.blocking_reason(payment.order) is None  # a new link may be sent


# --- Sending a link, and paying it on the caller's phone (the sandbox) -------------------------


@pytest.fixture
def link_flow(sandbox: Sandbox) -> PaymentFlow:
    return builders.flow(allows_links=True)


def send(order: Order, flow: PaymentFlow, mobile: str = MOBILE) -> Payment:
    agent = Agent.objects.first() or builders.agent_user().agent
    return services.start_payment(order=order, flow=flow, agent=agent, link_to=mobile).payment


def test_a_link_is_a_digital_session_texted_to_the_mobile(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    order = builders.order()
    before = timezone.now()
    payment = send(order, link_flow)
    assert (payment.kind, payment.state, payment.link_phone) == ("link", State.IN_PROGRESS, MOBILE)
    assert payment.link_expires_at is not None
    assert payment.link_expires_at - before >= DIGITAL_LINK_LIFETIME
    stats = sandbox.stats()
    assert (stats["digital_sessions_created"], stats["sessions_created"]) == (1, 0)  # no call
    (session,) = sandbox.sessions()
    assert (session["session_guid"], session["kind"]) == (payment.session_guid, "digital")
    assert session["payment_data"]["CustomerPhoneNumber"] == MOBILE
    # The order cannot take another attempt, phone or link, while the link is open.
    reason = orders.blocking_reason(order)
    assert reason and f"A payment link sent to {MOBILE}" in reason
    with pytest.raises(orders.PaymentBlocked):
        send(order, link_flow)
    assert Payment.objects.count() == 1 and sandbox.stats()["digital_sessions_created"] == 1


def test_a_flow_that_does_not_send_links_refuses_and_saves_nothing(sandbox: Sandbox) -> None:
    flow = builders.flow(allows_links=False)
    with pytest.raises(orders.PaymentBlocked, match="does not send payment links"):
        send(builders.order(), flow)
    assert not Payment.objects.exists() and sandbox.stats()["digital_sessions_created"] == 0


def test_the_caller_pays_from_the_sms_inbox_and_the_result_lands(
    link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    payment = send(builders.order(reference="INV-LINK-1"), link_flow)
    inbox = requests.get(f"{sandbox.url}/sms/", timeout=5).text
    assert MOBILE in inbox and "12.40" in inbox and "INV-LINK-1" in inbox
    link = f"{sandbox.url}/pay/{payment.session_guid}/"
    assert f'href="/sandbox/pay/{payment.session_guid}/"' in inbox
    http = requests.Session()
    form = http.get(link, timeout=5)
    token = form.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    card = {"card_number": "4111 1111 1111 1112", "expiry": "1239", "security_code": "123"}
    refused = http.post(link, data={**card, "csrfmiddlewaretoken": token}, timeout=5)
    assert "That is not a valid card number." in refused.text
    card["card_number"] = "4111 1111 1111 1111"
    paid = http.post(link, data={**card, "csrfmiddlewaretoken": token}, timeout=5)
    assert "Payment approved. Thank you." in paid.text
    assert poller.read_now(payment_id=payment.pk) == {"finished": 1}
    payment.refresh_from_db()
    assert payment.state == State.APPROVED and payment.card_brand == "Visa"
    assert payment.order.status == Order.Status.PAID
