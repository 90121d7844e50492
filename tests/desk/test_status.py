"""/desk/payments/<id>/status/: the status panel's poll. One small query; 204 while the state the
page shows is unchanged; 286 (htmx: stop polling) with the final state and the order's new
status; only the agent's own payments; and the poll never keeps an idle session alive."""

import time
from decimal import Decimal

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings

from agentdesk.staff.models import Agent
from payments import state_cache
from payments.models import Order, Payment, PaymentFlow
from payments.services import CHECK_THE_GATEWAY
from tests import builders
from tests.desk.conftest import HTMX

pytestmark = pytest.mark.django_db

State = Payment.State


def poll(client: Client, payment: Payment, seen: str = "", **headers: str):
    return client.get(f"/desk/payments/{payment.pk}/status/", {"seen": seen}, **HTMX, **headers)


@pytest.fixture
def live(agent: Agent, order: Order, flow: PaymentFlow) -> Payment:
    return builders.payment(order=order, agent=agent, flow=flow, state=State.IN_PROGRESS)


def settle(payment: Payment, state: str, **fields: object) -> None:
    """What result processing does to the row (payments.services.apply_result), in short: the
    state machine also forgets the state the quick poll answers from (payments/state_cache)."""
    Payment.objects.filter(pk=payment.pk).update(state=state, **fields)
    state_cache.forget(payment.pk)
    if state == State.APPROVED:
        Order.objects.filter(pk=payment.order_id).update(
            status=Order.Status.PAID, paid_amount=payment.order.amount, paid_at=timezone.now()
        )


def test_unchanged_answers_204_with_one_query_for_the_payment(
    agent_client: Client, live: Payment
) -> None:
    agent_client.get("/desk/")  # the session is stamped on a normal request first
    with CaptureQueriesContext(connection) as queries:
        response = poll(agent_client, live, seen="in_progress")
    assert response.status_code == 204 and response.content == b""
    tables = [q["sql"].split(" FROM ")[1].split()[0] for q in queries.captured_queries]
    # The session, the signed-in user, and the payment joined with its order and flow.
    assert tables == ['"django_session"', '"auth_user"', '"payments_payment"']
    assert "INNER JOIN" in queries.captured_queries[-1]["sql"]


def test_a_changed_state_is_rendered_and_polling_goes_on(
    agent_client: Client, live: Payment
) -> None:
    response = poll(agent_client, live, seen="starting")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1.0s"' in html
    assert f'hx-get="/desk/payments/{live.pk}/status/?seen=in_progress"' in html
    assert "Talk the caller through keying the card" in html


def test_approved_stops_polling_and_shows_the_order_paid(
    agent_client: Client, live: Payment
) -> None:
    settle(
        live,
        State.APPROVED,
        gateway_reference="GW-123456",
        card_brand="Visa",
        result_amount=Decimal("12.40"),
    )
    response = poll(agent_client, live, seen="in_progress")
    html = response.content.decode()
    assert response.status_code == 286
    assert "hx-trigger" not in html.split('id="review"')[0]  # the status element stops polling
    assert response.headers["HX-Trigger"] == '{"payment-finished": {}}'  # search refreshes
    desk = agent_client.get("/desk/").content.decode()
    assert 'hx-trigger="input changed delay:250ms, search, payment-finished from:body"' in desk
    assert '">Approved</span> The order is paid.</p>' in html
    assert "GW-123456" in html and "12.40 GBP" in html and "Visa" in html
    assert "Take another payment" in html and "Retry" not in html
    # The order on screen: swapped out of band, now paid; the provider page is closed.
    assert 'id="review" class="card review" aria-labelledby="review-title" hx-swap-oob' in html
    assert '<span class="order-status state order-paid">Paid · 12.40 GBP</span>' in html
    assert '<div id="provider" hx-swap-oob="true"></div>' in html


@pytest.mark.parametrize(
    ("state", "fields", "says", "action"),
    [
        (
            State.DECLINED,
            {"gateway_reason_code": "204"},
            "Insufficient funds (reason code 204).",
            "Retry payment",
        ),
        (
            State.DECLINED,
            {"gateway_reason_code": "999"},
            "The gateway declined it (reason code 999).",
            "Retry payment",
        ),
        (State.ERROR, {}, "The card gateway reported an error.", "Retry payment"),
        (State.ABANDONED, {}, "The session ended without a card payment", "Retry payment"),
        (
            State.EXPIRED,
            {},
            "The payment page expired before a card was submitted.",
            "Restart payment",
        ),
        (
            State.FAILED_TO_START,
            {"message": "VCC is not answering."},
            "The payment did not start: VCC is not answering.",
            "Retry payment",
        ),
    ],
)
def test_each_failed_outcome_says_why_and_offers_a_new_attempt(
    agent_client: Client, live: Payment, state: str, fields: dict, says: str, action: str
) -> None:
    settle(live, state, **fields)
    response = poll(agent_client, live, seen="in_progress")
    html = response.content.decode()
    assert response.status_code == 286
    assert says in html
    assert f">{action}</button>" in html and f'hx-post="/desk/payments/{live.pk}/retry/"' in html
    assert "Edit details" in html  # the order can change again before the next attempt


def test_unknown_outcome_keeps_watching_for_a_supervisors_release(
    agent_client: Client, live: Payment
) -> None:
    settle(live, State.UNKNOWN, message="The result could not be read in time")
    response = poll(agent_client, live, seen="in_progress")
    html = response.content.decode()
    assert response.status_code == 200
    assert "The outcome could not be confirmed. The result could not be read in time." in html
    assert "Do not take this payment again" in html and "Retry" not in html
    assert 'hx-trigger="every 5.0s"' in html
    assert poll(agent_client, live, seen="unknown").status_code == 204
    settle(live, State.APPROVED)
    assert poll(agent_client, live, seen="unknown").status_code == 286


def test_only_the_agents_own_payments(
    other_agent_client: Client, client: Client, live: Payment
) -> None:
    assert poll(other_agent_client, live).status_code == 404
    response = poll(client, live, HTTP_HX_CURRENT_URL="http://testserver/desk/orders/1/")
    assert response.headers["HX-Redirect"] == "/login/?next=%2Fdesk%2Forders%2F1%2F"
    response = client.get(f"/desk/payments/{live.pk}/status/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_polling_does_not_keep_an_idle_session_alive(
    agent_client: Client, live: Payment, settings: Settings
) -> None:
    settings.SESSION_COOKIE_AGE = 3  # idle for 3 s ends the session
    agent_client.get("/desk/")
    key = agent_client.session.session_key
    expires = Session.objects.get(session_key=key).expire_date
    with CaptureQueriesContext(connection) as queries:
        for seen in ("in_progress", "starting", "in_progress", "in_progress"):
            assert poll(agent_client, live, seen=seen).status_code in (200, 204)
    assert Session.objects.get(session_key=key).expire_date == expires
    assert not any(q["sql"].startswith("UPDATE") for q in queries.captured_queries)
    # Once idle for long enough, the poll sends the agent to sign in again: the quick answer
    # from the cache (quickpoll) ends with the session, it does not stretch it.
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()) + 0.2)
    assert "HX-Redirect" in poll(agent_client, live, seen="in_progress").headers


def test_an_unknown_outcome_says_not_to_take_it_again_once(
    agent_client: Client, live: Payment
) -> None:
    """The poller's own reason ends with advice for the supervisor; the desk says its own."""
    reason = f"The result could not be read from VCC before its retention ended{CHECK_THE_GATEWAY}"
    settle(live, State.UNKNOWN, message=reason)
    html = poll(agent_client, live, seen="in_progress").content.decode()
    assert "before its retention ended. Do not take this payment again" in html
    assert html.count("again") == 1


def test_the_badge_is_not_repeated_by_the_headline(agent_client: Client, live: Payment) -> None:
    settle(live, State.DECLINED, gateway_reason_code="204")
    html = poll(agent_client, live, seen="in_progress").content.decode()
    assert '">Declined</span> Insufficient funds (reason code 204).</p>' in html
    assert "Declined Declined" not in html and "Declined:" not in html


def test_an_order_a_payment_blocks_says_so_beside_its_status(
    agent_client: Client, live: Payment
) -> None:
    page = agent_client.get(f"/desk/orders/{live.order_id}/").content.decode()
    assert '<span class="order-status state order-open">Payment in progress</span>' in page
    assert "{#" not in page and "{%" not in page  # no template comment leaks onto the screen
    settle(live, State.UNKNOWN, message="The result could not be read in time")
    page = agent_client.get(f"/desk/orders/{live.order_id}/").content.decode()
    assert '<span class="order-status state order-open">Blocked — waiting for a supervisor' in page


def test_the_callers_orders_say_which_a_payment_blocks(agent_client: Client, live: Payment) -> None:
    settle(live, State.UNKNOWN, message="The result could not be read in time")
    url = f"/desk/callers/{live.order.customer_id}/"
    agent_client.get(url)  # the session's first page renews it (a write the next one skips)
    with CaptureQueriesContext(connection) as one_order:
        agent_client.get(url)
    builders.order(customer=live.order.customer, reference="FREE-1")
    builders.order(customer=live.order.customer, reference="FREE-2")
    with CaptureQueriesContext(connection) as three_orders:
        page = agent_client.get(url).content.decode()
    assert "Blocked — waiting for a supervisor</span>" in page
    assert page.count(">Open</span>") == 2
    assert len(three_orders) == len(one_order)  # no query per order
