"""/desk/orders/<id>/start/ and /desk/payments/<id>/retry/ against the built-in sandbox over real
HTTP: a start opens exactly one VCC session, double-clicked or not; the provider page's two
tokens reach the browser in that one response's hidden form and nowhere else (no later page, no
row of ours, no log line); the flow decides iframe or popup; an expired page is restarted as a
new attempt."""

import logging
import threading
from html import unescape

import pytest
from django.core import serializers
from django.db import connection
from django.test import Client

from agentdesk.staff.models import Agent, AuditEntry
from customers.models import BillingAddress, Customer
from payments import services
from payments.models import Order, Payment, PaymentEvent, PaymentFlow, WebhookDelivery
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.desk.conftest import HTMX, WORKSPACE
from tests.sandbox_fixtures import Sandbox

State = Payment.State


@pytest.fixture
def sandbox_flow(sandbox: Sandbox) -> PaymentFlow:
    return builders.flow()


@pytest.fixture
def popup_flow(sandbox: Sandbox) -> PaymentFlow:
    return builders.flow(
        name="Live cards", environment="production", display_mode="popup", is_default=False
    )


def start(client: Client, order: Order, flow: PaymentFlow) -> str:
    response = client.post(f"/desk/orders/{order.pk}/start/", {"flow": flow.pk}, **WORKSPACE)
    assert response.status_code == 200
    return response.content.decode()


def tokens_of(payment: Payment) -> tuple[str, str]:
    session = SandboxSession.objects.get(guid=payment.session_guid)
    return session.agent_access_token, session.agent_refresh_token


def test_start_opens_the_provider_page_in_the_iframe_with_the_tokens_posted(
    agent_client: Client, agent: Agent, order: Order, sandbox_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    html = start(agent_client, order, sandbox_flow)
    payment = Payment.objects.get()
    assert (payment.state, payment.agent) == (State.IN_PROGRESS, agent)
    access, refresh = tokens_of(payment)
    frame = f"vcc-provider-{payment.pk}"
    assert f'<form method="post" action="{payment.provider_url}" target="{frame}" hidden' in html
    assert f'name="X-BEARER-TOKEN" value="{access}"' in html
    assert f'name="X-REFRESH-TOKEN" value="{refresh}"' in html
    assert f'<iframe name="{frame}"' in html
    assert access not in payment.provider_url and refresh not in payment.provider_url
    assert "Waiting for the caller" in html
    assert f'hx-get="/desk/payments/{payment.pk}/status/?seen=' in html
    # What VCC got: the payment data on the card, nothing more.
    sent = sandbox.session(payment.session_guid)
    assert sent["agent_id"] == "1001" and sent["account_configuration_id"] == 1
    assert sent["payment_data"] == {
        "FirstName": "Priya",
        "Surname": "Patel",
        "Email": "priya@example.com",
        "Street1": "12 Acacia Avenue",
        "City": "Leeds",
        "Postcode": "LS1 4AP",
        "Country": "GB",
        "Amount": "12.40",
        "Currency": "GBP",
        "MerchantReferenceCode": "DEMO-42",
    }


def test_the_tokens_are_in_the_start_response_only(
    agent_client: Client, order: Order, sandbox_flow: PaymentFlow, caplog
) -> None:
    with caplog.at_level(logging.DEBUG):
        start(agent_client, order, sandbox_flow)
        payment = Payment.objects.get()
        later = [
            agent_client.get(f"/desk/orders/{payment.order_id}/").content.decode(),
            agent_client.get(f"/desk/payments/{payment.pk}/status/", **HTMX).content.decode(),
            agent_client.get("/desk/").content.decode(),
        ]
    access, refresh = tokens_of(payment)
    for text in later:
        assert access not in text and refresh not in text
        assert "X-BEARER-TOKEN" not in text
    # A reload offers to reopen the provider page (a POST that answers the tokens again).
    assert "Reopen the payment page" in later[0]
    ours = serializers.serialize(
        "json",
        [
            *Payment.objects.all(),
            *PaymentEvent.objects.all(),
            *AuditEntry.objects.all(),
            *Order.objects.all(),
            *Customer.objects.all(),
            *BillingAddress.objects.all(),
            *WebhookDelivery.objects.all(),
        ],
    )
    assert access not in ours and refresh not in ours
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert access not in logged and refresh not in logged


def test_two_posts_open_one_session(
    agent_client: Client, order: Order, sandbox_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    first = start(agent_client, order, sandbox_flow)
    second = start(agent_client, order, sandbox_flow)
    assert sandbox.sessions_created() == 1
    payment = Payment.objects.get()
    assert "X-BEARER-TOKEN" in first and "X-BEARER-TOKEN" not in second
    assert "Attempt 1 of this order" in second
    assert f'hx-get="/desk/payments/{payment.pk}/status/?seen=' in second
    assert "A payment for this order is already in progress" in second


def test_two_posts_at_the_same_moment_open_one_session(
    agent_user, order: Order, sandbox_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    answers: list[str] = []
    ready = threading.Barrier(2)

    def click() -> None:
        try:
            client = Client()
            client.force_login(agent_user)
            ready.wait()
            answers.append(start(client, order, sandbox_flow))
        finally:
            connection.close()  # this thread's own database connection

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=30)
    assert len(answers) == 2
    assert sandbox.sessions_created() == 1
    assert Payment.objects.count() == 1
    assert sum("X-BEARER-TOKEN" in answer for answer in answers) == 1


def test_a_popup_flow_opens_the_page_in_a_window(
    agent_client: Client, order: Order, popup_flow: PaymentFlow
) -> None:
    html = start(agent_client, order, popup_flow)
    payment = Payment.objects.get()
    assert 'data-mode="popup"' in html and "<iframe" not in html
    assert f'target="vcc-provider-{payment.pk}"' in html
    assert "The browser blocked the payment page" in html  # shown by desk.js if it happens
    assert f'data-open-provider="vcc-provider-{payment.pk}"' in html


def test_an_expired_page_is_restarted_as_a_new_attempt(
    agent_client: Client, order: Order, sandbox_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    start(agent_client, order, sandbox_flow)
    first = Payment.objects.get()
    sandbox.expire_page(first.session_guid)
    services.expire_payment(payment_id=first.pk, reason="The payment page expired")
    status = agent_client.get(f"/desk/payments/{first.pk}/status/", {"seen": "in_progress"}, **HTMX)
    assert status.status_code == 286
    assert ">Restart payment</button>" in status.content.decode()
    html = agent_client.post(f"/desk/payments/{first.pk}/retry/", **WORKSPACE).content.decode()
    second = Payment.objects.exclude(pk=first.pk).get()
    assert second.state == State.IN_PROGRESS and second.session_guid != first.session_guid
    assert sandbox.sessions_created() == 2
    assert f'name="X-BEARER-TOKEN" value="{tokens_of(second)[0]}"' in html
    assert sandbox.session(second.session_guid)["payment_data"]["MerchantReferenceCode"] == (
        "DEMO-42"
    )


def test_a_flow_vcc_rejects_is_not_offered_again_without_a_choice(
    agent_client: Client, order: Order, sandbox_flow: PaymentFlow, sandbox: Sandbox
) -> None:
    broken = builders.flow(name="Wrong config", account_configuration_id=77, is_default=False)
    html = unescape(start(agent_client, order, broken))
    payment = Payment.objects.get()
    assert payment.state == State.FAILED_TO_START and payment.flow_rejected
    # The flow picker, nothing preselected, and what an administrator must fix; no Retry.
    assert "VCC rejected the payment flow 'Wrong config': accountConfigurationId 77" in html
    assert "An administrator must correct the flow" in html
    assert ">Retry payment</button>" not in html
    assert 'name="flow"' in html and " checked" not in html
    # The same on a fresh look at the order, and a retry on the broken flow is refused.
    page = unescape(agent_client.get(f"/desk/orders/{order.pk}/", **WORKSPACE).content.decode())
    assert "VCC rejected the payment flow 'Wrong config'" in page and " checked" not in page
    refused = agent_client.post(f"/desk/payments/{payment.pk}/retry/", **WORKSPACE)
    assert "This attempt cannot be retried." in refused.content.decode()
    assert sandbox.sessions_created() == 0
    # Choosing a working flow starts the payment.
    start(agent_client, order, sandbox_flow)
    assert Payment.objects.exclude(pk=payment.pk).get().state == State.IN_PROGRESS
    assert sandbox.sessions_created() == 1
