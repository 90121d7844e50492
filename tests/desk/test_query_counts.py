"""What each desk page costs the database, whatever the caller's history: at most six queries
for a page (the session, the user, the agent with their permission, and the page's own), three
for the status poll while nothing changes (issue 12's speed goals; the times are in
`make bench BENCH=desk`)."""

from typing import Any

import pytest
from django.test import Client

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
