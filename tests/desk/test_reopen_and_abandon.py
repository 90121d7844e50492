"""/desk/payments/<id>/reopen/ and /desk/payments/<id>/abandon/ against the built-in sandbox over
real HTTP: a lost provider page is reopened for its lifetime, by the agent who started it and
nobody else; an abandoned attempt frees the order while its session is still read to its end,
and a result that comes after is handled as any late result (a payment taken is flagged)."""

import logging
from datetime import timedelta
from html import unescape as html_unescape

import pytest
from django.test import Client
from pytest_django import Settings

from agentdesk.staff.models import Agent
from payments import poller
from payments.models import Order, Payment, PaymentEvent
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.sandbox_fixtures import Sandbox

State = Payment.State
REOPEN = "Reopen the payment page"


@pytest.fixture
def started(agent_client: Client, order: Order, sandbox: Sandbox) -> Payment:
    """Agent 1's attempt on the order, waiting for the caller (its page shown once)."""
    sandbox.webhooks_off()  # the poller's reads are the ones under test
    flow = builders.flow()
    response = agent_client.post(f"/desk/orders/{order.pk}/start/", {"flow": flow.pk}, **WORKSPACE)
    assert "X-BEARER-TOKEN" in response.content.decode()
    return Payment.objects.get(state=State.IN_PROGRESS)


def order_page(client: Client, order: Order) -> str:
    return client.get(f"/desk/orders/{order.pk}/").content.decode()


def reopen(client: Client, payment: Payment) -> str:
    response = client.post(f"/desk/payments/{payment.pk}/reopen/", **WORKSPACE)
    assert response.status_code == 200
    return response.content.decode()


def test_after_a_reload_the_agent_reopens_the_page_with_its_tokens(
    agent_client: Client,
    order: Order,
    started: Payment,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    page = order_page(agent_client, order)
    assert REOPEN in page and "X-BEARER-TOKEN" not in page  # a button, no tokens in the page
    assert started.session_started_at is not None
    expires = started.session_started_at + settings.VCC_PAGE_LIFETIME
    assert f"still open for the caller's card until {expires:%H:%M}." in html_unescape(page)
    with caplog.at_level(logging.DEBUG):
        html = reopen(agent_client, started)
    session = SandboxSession.objects.get(guid=started.session_guid)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert session.agent_access_token not in logged
    assert session.agent_refresh_token not in logged
    assert f'action="{started.provider_url}" target="vcc-provider-{started.pk}"' in html
    assert f'name="X-BEARER-TOKEN" value="{session.agent_access_token}"' in html
    assert f'<iframe name="vcc-provider-{started.pk}"' in html


def test_another_agent_on_the_same_caller_cannot_reopen_it(
    other_agent_client: Client, order: Order, started: Payment
) -> None:
    page = order_page(other_agent_client, order)
    assert REOPEN not in page and "Abandon this attempt" not in page
    assert "A payment for this order is already in progress" in page
    assert other_agent_client.post(f"/desk/payments/{started.pk}/reopen/").status_code == 404
    assert other_agent_client.post(f"/desk/payments/{started.pk}/abandon/").status_code == 404
    assert Payment.objects.get().state == State.IN_PROGRESS


def test_the_page_cannot_be_reopened_after_its_lifetime(
    agent_client: Client, order: Order, started: Payment, settings: Settings
) -> None:
    assert REOPEN in order_page(agent_client, order)
    settings.VCC_PAGE_LIFETIME = timedelta(seconds=1)
    Payment.objects.filter(pk=started.pk).update(
        session_started_at=started.session_started_at - timedelta(seconds=2)
    )
    page = order_page(agent_client, order)
    assert REOPEN not in page and "Abandon this attempt" in page
    html = reopen(agent_client, started)
    assert "X-BEARER-TOKEN" not in html
    assert "cannot be reopened any more" in html


def test_abandoning_frees_the_order_and_a_late_approval_is_flagged(
    agent_client: Client, agent: Agent, order: Order, started: Payment, sandbox: Sandbox
) -> None:
    html = agent_client.post(f"/desk/payments/{started.pk}/abandon/", **WORKSPACE).content.decode()
    assert "You abandoned this attempt" in html and "Retry payment" in html
    assert REOPEN not in order_page(agent_client, order)
    assert "cannot be reopened any more" in reopen(agent_client, started)
    abandoned = Payment.objects.get(pk=started.pk)
    assert abandoned.state == State.ABANDONED and abandoned.next_poll_at is not None
    assert Order.objects.get(pk=order.pk).status == Order.Status.OPEN

    # The caller keys the card on the page left open, and it is approved after all.
    sandbox.complete(started.session_guid, "approved")
    assert poller.read_now(payment_id=started.pk)["finished"] == 1
    late = Payment.objects.get(pk=started.pk)
    assert (late.state, late.flagged, late.next_poll_at) == (State.ABANDONED, True, None)
    assert late.events.filter(kind=PaymentEvent.Kind.CONTRADICTION).count() == 1
    # Supervisors decide; nothing reads the session again.
    assert poller.claim_due(limit=10) == []


def test_abandoned_then_the_caller_hangs_up_is_settled_quietly(
    agent_client: Client, order: Order, started: Payment, sandbox: Sandbox
) -> None:
    agent_client.post(f"/desk/payments/{started.pk}/abandon/", **WORKSPACE)
    sandbox.hang_up(started.session_guid)
    assert poller.read_now(payment_id=started.pk)["finished"] == 1
    settled = Payment.objects.get(pk=started.pk)
    assert (settled.state, settled.flagged, settled.next_poll_at) == (State.ABANDONED, False, None)
    assert settled.events.filter(kind=PaymentEvent.Kind.REPEATED).count() == 1


def test_after_abandoning_a_new_attempt_starts_on_the_same_order(
    agent_client: Client, order: Order, started: Payment, sandbox: Sandbox
) -> None:
    agent_client.post(f"/desk/payments/{started.pk}/abandon/", **WORKSPACE)
    html = agent_client.post(f"/desk/payments/{started.pk}/retry/", **WORKSPACE).content.decode()
    assert "Attempt 2 of this order" in html and "X-BEARER-TOKEN" in html
    assert sandbox.sessions_created() == 2
    assert Payment.objects.filter(state=State.IN_PROGRESS).count() == 1


def test_an_attempt_that_already_ended_is_not_abandoned(
    agent_client: Client, order: Order, started: Payment, sandbox: Sandbox
) -> None:
    sandbox.complete(started.session_guid, "approved")
    poller.read_now(payment_id=started.pk)
    html = agent_client.post(f"/desk/payments/{started.pk}/abandon/", **WORKSPACE).content.decode()
    assert Payment.objects.get(pk=started.pk).state == State.APPROVED
    assert "The order is paid." in html
