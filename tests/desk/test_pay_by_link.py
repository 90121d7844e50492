"""/desk/orders/<id>/send-link/ (and the retry of a link): beside Start payment, a payment link
texted to the caller's mobile (pre-filled, normalised to E.164, a mobile only), with the same
guards as a start; the panel says where and when it went and lets the agent move on; bad input
says why and saves nothing."""

import re

import pytest
from django.test import Client

from agentdesk.staff.models import AuditEntry
from payments import poller, services
from payments.models import Order, Payment, PaymentFlow
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.sandbox_fixtures import Sandbox

State = Payment.State


@pytest.fixture
def link_flow(sandbox: Sandbox) -> PaymentFlow:
    return builders.flow(allows_links=True)


@pytest.fixture
def caller_order(db: None) -> Order:
    return builders.order(customer=builders.customer(phone="+447400123456"), reference="INV-9")


def send(client: Client, order: Order, flow: PaymentFlow, mobile: str) -> str:
    response = client.post(
        f"/desk/orders/{order.pk}/send-link/", {"mobile": mobile, "link_flow": flow.pk}, **WORKSPACE
    )
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.django_db
def test_the_order_screen_offers_a_link_to_the_callers_mobile(
    agent_client: Client, caller_order: Order
) -> None:
    builders.flow(name="Phone only")
    html = agent_client.get(f"/desk/orders/{caller_order.pk}/").content.decode()
    assert "Send a payment link by SMS" not in html  # no flow sends links
    builders.flow(name="Links", allows_links=True, is_default=False)
    html = agent_client.get(f"/desk/orders/{caller_order.pk}/").content.decode()
    assert "Send a payment link by SMS" in html and "Start payment" in html
    assert 'name="mobile" type="tel" value="+44 7400 123456"' in html


@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "+44 20 7123 4567",
            "+44 20 7123 4567 is not a mobile number: a payment link goes by text",
        ),
        ("07700 12", "07700 12 is not a valid phone number."),
        ("call me", "Enter a phone number with its country code"),
    ],
)
def test_a_number_that_cannot_take_a_text_says_why_and_saves_nothing(
    agent_client: Client,
    caller_order: Order,
    link_flow: PaymentFlow,
    sandbox: Sandbox,
    typed: str,
    message: str,
) -> None:
    html = send(agent_client, caller_order, link_flow, typed)
    assert message in html
    assert f'value="{typed}"' in html  # kept for the agent to correct
    assert not Payment.objects.exists() and sandbox.stats()["digital_sessions_created"] == 0


def test_a_card_number_typed_as_the_mobile_is_refused_and_never_shown(
    agent_client: Client, caller_order: Order, link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    html = send(agent_client, caller_order, link_flow, "4111 1111 1111 1111")
    assert "This looks like a card number" in html and "4111" not in html
    assert not Payment.objects.exists()


def test_a_link_is_sent_once_and_the_agent_can_move_on(
    agent_client: Client, caller_order: Order, link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    html = send(agent_client, caller_order, link_flow, "07400 123456")
    payment = Payment.objects.get()
    assert (payment.kind, payment.link_phone, payment.state) == (
        "link",
        "+447400123456",
        State.IN_PROGRESS,
    )
    assert re.search(
        r"Link sent to \+44 7400 123456 at \d\d:\d\d; waiting for the caller \(the link works "
        r"until \w{3} \d\d \w{3} \d\d:\d\d\)\. You can move on",
        text(html),
    )
    assert "<iframe" not in html and "cannot be reopened here" not in html
    started = AuditEntry.objects.get(action=AuditEntry.Action.PAYMENT_STARTED)
    assert (started.target, started.details["kind"]) == ("INV-9", "link")
    # A double click, or a second link while the first is open: refused, nothing new at VCC.
    again = send(agent_client, caller_order, link_flow, "07400 123456")
    assert "A payment link sent to +447400123456 at" in text(again)
    phone = agent_client.post(
        f"/desk/orders/{caller_order.pk}/start/", {"flow": link_flow.pk}, **WORKSPACE
    ).content.decode()
    assert "is still open: the caller can pay with it until it ends." in phone
    assert Payment.objects.count() == 1 and sandbox.stats()["digital_sessions_created"] == 1
    assert sandbox.stats()["sessions_created"] == 0
    # Reopened later, the order still shows the waiting link.
    later = agent_client.get(f"/desk/orders/{caller_order.pk}/").content.decode()
    assert "Link sent to +44 7400 123456" in text(later)


def test_an_expired_link_is_sent_again_as_a_new_attempt(
    agent_client: Client, caller_order: Order, link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    send(agent_client, caller_order, link_flow, "+447400123456")
    first = Payment.objects.get()
    services.expire_payment(payment_id=first.pk, reason="The payment link ended unused.")
    status = agent_client.get(f"/desk/payments/{first.pk}/status/")
    assert status.status_code == 286
    assert "The payment link ended before the caller paid." in status.content.decode()
    assert "Send a new link" in status.content.decode()
    html = agent_client.post(f"/desk/payments/{first.pk}/retry/", **WORKSPACE).content.decode()
    second = Payment.objects.exclude(pk=first.pk).get()
    assert (second.kind, second.link_phone, second.state) == (
        "link",
        first.link_phone,
        State.IN_PROGRESS,
    )
    assert second.session_guid != first.session_guid
    assert "Link sent to +44 7400 123456" in text(html)
    assert sandbox.stats()["digital_sessions_created"] == 2


def test_a_flow_that_sends_no_links_is_refused(
    agent_client: Client, caller_order: Order, sandbox: Sandbox
) -> None:
    flow = builders.flow(allows_links=False)
    html = send(agent_client, caller_order, flow, "+447400123456")
    assert "Choose a flow that sends links." in html
    assert not Payment.objects.exists()


def test_a_link_closed_without_a_payment_says_so_and_offers_a_new_one(
    agent_client: Client, caller_order: Order, link_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    send(agent_client, caller_order, link_flow, "+447400123456")
    payment = Payment.objects.get()
    assert payment.session_guid
    # The caller closed the hosted form: VCC finished it with the gateway's CANCEL (a link
    # finished with no gateway answer at all is its end unused: expired, test_link_faults.py).
    sandbox.complete(payment.session_guid, "cancel")
    poller.read_now(payment_id=payment.pk)
    html = agent_client.get(f"/desk/payments/{payment.pk}/status/").content.decode()
    assert "The payment link was closed without a payment." in html
    assert "Send a new link" in html and "hung up" not in html
