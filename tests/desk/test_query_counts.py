"""What each desk page costs the database, whatever the caller's history: at most six queries
for a page (the session, the user, the agent with their permission, and the page's own), three
for the first status poll while nothing changes, the third reading the payment's state alone,
and none for the polls after it, answered from the cache (issue 12's speed goals, issue 15's 200
desks; the times are in `make bench BENCH=desk`)."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.models import Order, Payment
from tests import builders
from tests.desk.conftest import HTMX

pytestmark = pytest.mark.django_db


def test_each_desk_page_stays_within_six_queries(
    agent_client: Client, agent: Any, order: Order, django_assert_max_num_queries: Any
) -> None:
    for state in ("declined", "expired"):  # earlier attempts must not add queries
        builders.payment(order=order, agent=agent, state=state)
    live = builders.payment(order=order, agent=agent, state=Payment.State.IN_PROGRESS)
    pages = [
        ("/desk/", {}, {}),
        ("/desk/search/", {"q": order.customer.last_name[:3]}, HTMX),
        (f"/desk/orders/{order.pk}/", {}, {}),
        (f"/desk/callers/{order.customer_id}/", {}, {}),
    ]
    agent_client.get("/desk/")  # the session's first page renews it; the next ones do not
    for url, params, headers in pages:
        with django_assert_max_num_queries(6):
            assert agent_client.get(url, params, **headers).status_code == 200, url
    with django_assert_max_num_queries(3):
        unchanged = agent_client.get(
            f"/desk/payments/{live.pk}/status/", {"seen": "in_progress"}, **HTMX
        )
    assert unchanged.status_code == 204
    # The next ones are answered from the cache (agentdesk/desk/quickpoll.py): no query at all.
    with CaptureQueriesContext(connection) as queries:
        again = agent_client.get(
            f"/desk/payments/{live.pk}/status/", {"seen": "in_progress"}, **HTMX
        )
    assert again.status_code == 204 and queries.captured_queries == []


@pytest.mark.parametrize(
    ("state", "seen", "code", "order_card"),
    [
        ("in_progress", "starting", 200, None),  # live: the order's card comes when it ends
        ("unknown", "in_progress", 200, None),  # blocked: still read from VCC
        ("approved", "in_progress", 286, "Payment in progress"),  # until the order is paid
        ("declined", "in_progress", 286, "Edit details"),
        ("abandoned", "in_progress", 286, "Edit details"),
    ],
)
def test_a_status_that_changed_takes_four_queries(
    agent_client: Client,
    agent: Any,
    order: Order,
    state: str,
    seen: str,
    code: int,
    order_card: str | None,
) -> None:
    """A changed status, and a final one with the order's card (out of band), take four queries:
    the session's, the user's, the payment's state (what an unchanged poll reads), and one for
    the payment, its order, caller and flow and what blocks the order."""
    payment = builders.payment(order=order, agent=agent, state=state)
    agent_client.get("/desk/")
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(f"/desk/payments/{payment.pk}/status/", {"seen": seen}, **HTMX)
    assert response.status_code == code
    page = response.content.decode()
    assert f"state-{state}" in page
    if order_card is None:
        assert 'id="review"' not in page
    else:
        assert 'id="review"' in page and order_card in page
    if state in Payment.BLOCKING_STATES:
        assert "Edit details" not in page
    assert len(queries) <= 4, [query["sql"] for query in queries]
