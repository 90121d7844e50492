"""/desk/orders/<id>/start/ and /desk/payments/<id>/retry/: every guard and error path that does
not need VCC to answer. A start VCC cannot take becomes a failed attempt with the reason and a
Retry; an order with a payment in progress, approved or of unknown outcome starts nothing and
the panel says why; a second POST shows the live attempt and opens nothing; agents never see
another agent's payment. (Starts that reach the sandbox: tests/desk/test_start_sandbox.py.)"""

import pytest
from django.test import Client

from agentdesk.staff.models import Agent, AuditEntry
from payments.models import Order, Payment, PaymentFlow
from tests import builders
from tests.desk.conftest import WORKSPACE

pytestmark = pytest.mark.django_db

State = Payment.State


def start(client: Client, order: Order, flow: PaymentFlow | None) -> str:
    response = client.post(
        f"/desk/orders/{order.pk}/start/", {"flow": flow.pk if flow else ""}, **WORKSPACE
    )
    assert response.status_code == 200
    return response.content.decode()


def test_a_start_vcc_cannot_take_fails_with_the_reason_and_a_retry(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow
) -> None:
    html = start(agent_client, order, unreachable_flow)
    payment = Payment.objects.get()
    assert (payment.state, payment.agent, payment.flow) == (
        State.FAILED_TO_START,
        agent,
        unreachable_flow,
    )
    assert (
        "The payment did not start: VCC account &#x27;retired&#x27; is not in VCC_ACCOUNTS" in html
    )
    assert "Retry payment" in html and "Take another payment" in html
    assert (
        'id="review" class="card review" aria-labelledby="review-title" hx-swap-oob="true"' in html
    )
    assert "<iframe" not in html and "X-BEARER-TOKEN" not in html
    assert AuditEntry.objects.filter(action="payment_started", target="DEMO-42").exists()


def test_retry_is_a_new_attempt_with_the_same_flow(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow
) -> None:
    start(agent_client, order, unreachable_flow)
    first = Payment.objects.get()
    response = agent_client.post(f"/desk/payments/{first.pk}/retry/", **WORKSPACE)
    assert response.status_code == 200
    second = Payment.objects.exclude(pk=first.pk).get()
    assert (second.flow, second.state) == (unreachable_flow, State.FAILED_TO_START)
    assert "Attempt 2 of this order" in response.content.decode()
    assert f'hx-post="/desk/payments/{second.pk}/retry/"' in response.content.decode()
    assert AuditEntry.objects.filter(action="payment_retried", target="DEMO-42").count() == 1


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (State.IN_PROGRESS, "A payment for this order is already in progress (started"),
        (State.STARTING, "A payment for this order is already in progress (started"),
        (State.APPROVED, "This order is already paid."),
        (State.UNKNOWN, "a supervisor must resolve it before another payment can be taken"),
    ],
)
def test_an_order_with_a_blocking_payment_starts_nothing_and_says_why(
    agent_client: Client,
    other_agent_user,
    order: Order,
    flow: PaymentFlow,
    state: str,
    reason: str,
) -> None:
    theirs = builders.payment(
        order=order,
        agent=other_agent_user.agent,
        flow=flow,
        state=state,
        gateway_reference="GW-THEIRS",
    )
    page = agent_client.get(f"/desk/orders/{order.pk}/", **WORKSPACE).content.decode()
    assert reason in page and "Start payment" not in page
    html = start(agent_client, order, flow)
    assert html.count(reason) == 1  # said once, not as a notice and again as the reason
    assert list(Payment.objects.all()) == [theirs]
    # Nothing of the other agent's attempt is shown.
    for private in ("GW-THEIRS", f"#{theirs.pk}", f"/desk/payments/{theirs.pk}/"):
        assert private not in page and private not in html


def test_a_second_start_shows_the_live_attempt_and_opens_nothing(
    agent_client: Client, agent: Agent, order: Order, flow: PaymentFlow
) -> None:
    live = builders.payment(order=order, agent=agent, flow=flow, state=State.IN_PROGRESS)
    html = start(agent_client, order, flow)
    assert Payment.objects.count() == 1
    assert "Attempt 1 of this order" in html
    assert "A payment for this order is already in progress" in html
    assert f'hx-get="/desk/payments/{live.pk}/status/?seen=' in html
    # No page is kept for this attempt (made without one): nothing to reopen, only to abandon.
    assert "X-BEARER-TOKEN" not in html and "Reopen the payment page" not in html
    assert "cannot be shown here any more" in html and "Abandon this attempt" in html


def test_a_second_retry_shows_the_attempt_the_first_one_started(
    agent_client: Client, agent: Agent, order: Order, flow: PaymentFlow
) -> None:
    declined = builders.payment(order=order, agent=agent, flow=flow, state=State.DECLINED)
    live = builders.payment(order=order, agent=agent, flow=flow, state=State.IN_PROGRESS)
    html = agent_client.post(f"/desk/payments/{declined.pk}/retry/", **WORKSPACE).content.decode()
    assert Payment.objects.count() == 2
    assert "Attempt 2 of this order" in html and "already in progress" in html
    assert f'hx-get="/desk/payments/{live.pk}/status/?seen=' in html


def test_an_attempt_that_is_not_retryable(
    agent_client: Client, agent: Agent, order: Order, flow: PaymentFlow
) -> None:
    approved = builders.payment(order=order, agent=agent, flow=flow, state=State.APPROVED)
    html = agent_client.post(f"/desk/payments/{approved.pk}/retry/", **WORKSPACE).content.decode()
    assert "This attempt cannot be retried." in html
    assert Payment.objects.count() == 1


def test_nobody_retries_another_agents_payment(
    agent_client: Client, other_agent_user, order: Order, flow: PaymentFlow
) -> None:
    theirs = builders.payment(
        order=order, agent=other_agent_user.agent, flow=flow, state=State.DECLINED
    )
    assert agent_client.post(f"/desk/payments/{theirs.pk}/retry/").status_code == 404
    assert Payment.objects.count() == 1


def test_a_flow_must_be_chosen_and_switched_on(
    agent_client: Client, order: Order, flow: PaymentFlow
) -> None:
    assert "Choose a payment flow." in start(agent_client, order, None)
    flow.is_active = False
    flow.save()
    assert "Choose a payment flow." in start(agent_client, order, flow)
    assert not Payment.objects.exists()


def test_payment_data_that_cannot_be_used_is_sent_back_to_the_agent(
    agent_client: Client, order: Order, unreachable_flow: PaymentFlow
) -> None:
    # A CRM copy is kept as the CRM had it; the start checks it as manual entry would.
    order.customer.billing_address.postcode = "not a postcode"
    order.customer.billing_address.save()
    html = start(agent_client, order, unreachable_flow)
    assert not Payment.objects.exists()
    assert "Fix the payment details marked, then start again." in html
    assert "This is not a valid postcode for United Kingdom" in html
    assert 'id="details-form"' in html


def test_a_start_without_htmx_renders_the_whole_order_page(
    agent_client: Client, order: Order, unreachable_flow: PaymentFlow
) -> None:
    response = agent_client.post(f"/desk/orders/{order.pk}/start/", {"flow": unreachable_flow.pk})
    html = response.content.decode()
    assert "<html" in html and "Failed to start" in html and "hx-swap-oob" not in html


def test_the_desk_lists_only_the_agents_own_payments(
    agent_client: Client, agent: Agent, other_agent_user, flow: PaymentFlow
) -> None:
    mine = builders.payment(agent=agent, flow=flow, state=State.DECLINED)
    theirs = builders.payment(
        agent=other_agent_user.agent,
        flow=flow,
        state=State.APPROVED,
        order=builders.order(reference="THEIRS-1"),
    )
    html = agent_client.get("/desk/").content.decode()
    assert mine.order.reference in html and "THEIRS-1" not in html
    assert theirs.order.reference not in html


def test_a_retry_may_take_another_active_flow(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow
) -> None:
    other = builders.flow(name="Other retired account", account="gone", is_default=False)
    start(agent_client, order, unreachable_flow)
    first = Payment.objects.get()
    response = agent_client.post(
        f"/desk/payments/{first.pk}/retry/", {"flow": other.pk}, **WORKSPACE
    )
    assert response.status_code == 200
    second = Payment.objects.exclude(pk=first.pk).get()
    assert second.flow == other
    assert "Other retired account" in response.content.decode()
    assert AuditEntry.objects.filter(action="payment_retried", target="DEMO-42").count() == 1


@pytest.mark.parametrize("choice", ["", "x", "inactive"])
def test_a_retry_on_a_flow_that_is_not_active_starts_nothing(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow, choice: str
) -> None:
    if choice == "inactive":
        choice = str(builders.flow(name="Off", account="gone", is_active=False).pk)
    start(agent_client, order, unreachable_flow)
    first = Payment.objects.get()
    response = agent_client.post(f"/desk/payments/{first.pk}/retry/", {"flow": choice}, **WORKSPACE)
    assert response.status_code == 200
    assert Payment.objects.count() == 1
    assert "Choose a flow." in response.content.decode()


def test_retry_on_another_flow_lists_the_active_flows_with_the_one_used_chosen(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow
) -> None:
    other = builders.flow(name="Other retired account", account="gone", is_default=False)
    builders.flow(name="Switched off", account="gone", is_active=False)
    html = start(agent_client, order, unreachable_flow)
    first = Payment.objects.get()
    assert "Retry on another flow…" in html
    assert f'hx-get="/desk/payments/{first.pk}/retry/flows/"' in html
    choice = agent_client.get(f"/desk/payments/{first.pk}/retry/flows/").content.decode()
    assert f'value="{unreachable_flow.pk}" checked' in choice
    assert f'value="{other.pk}">' in choice and "Switched off" not in choice
    assert "Retry on this flow" in choice


def test_retry_on_another_flow_says_when_there_is_no_other(
    agent_client: Client, agent: Agent, order: Order, unreachable_flow: PaymentFlow
) -> None:
    start(agent_client, order, unreachable_flow)
    first = Payment.objects.get()
    choice = agent_client.get(f"/desk/payments/{first.pk}/retry/flows/").content.decode()
    assert "No other payment flow is switched on." in choice
    assert "<form" not in choice


def test_nobody_sees_the_retry_flows_of_another_agents_payment(
    agent_client: Client, other_agent_user, order: Order, flow: PaymentFlow
) -> None:
    theirs = builders.payment(
        order=order, agent=other_agent_user.agent, flow=flow, state=State.DECLINED
    )
    assert agent_client.get(f"/desk/payments/{theirs.pk}/retry/flows/").status_code == 404
