"""/admin/dashboard/ (payments/admin/dashboard.py, payments/dashboard.py): supervisors and
administrators see the payments in flight per flow and agent, the last hour's and day's
outcomes with the approval rate and the time to result, the work queues and two SVG charts;
htmx refreshes it with the fragment alone; agents are kept out; the number of queries does not
grow with the payments."""

from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from payments.models import Payment
from tests import builders

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
State = Payment.State


def ended(state: str, *, ago: timedelta, took: timedelta, **fields: object) -> Payment:
    payment = builders.payment(state=state, **fields)
    started = timezone.now() - ago
    Payment.objects.filter(pk=payment.pk).update(
        created_at=started, session_started_at=started, finished_at=started + took
    )
    return payment


def test_the_dashboard_says_what_is_in_flight_how_it_went_and_what_waits(
    supervisor_client: Client,
) -> None:
    cards = builders.flow(name="Cards")
    builders.agent_user("agent1", vcc_agent_id="1001")
    other = builders.agent_user("agent2", vcc_agent_id="1002").agent
    builders.live_payment(flow=cards)
    builders.live_payment(flow=cards)
    builders.live_payment(flow=cards, agent=other)
    for seconds in (10, 20, 30):
        ended(State.APPROVED, ago=timedelta(minutes=10), took=timedelta(seconds=seconds))
    ended(State.DECLINED, ago=timedelta(minutes=20), took=timedelta(seconds=40))
    ended(State.APPROVED, ago=timedelta(hours=5), took=timedelta(seconds=100))
    ended(State.EXPIRED, ago=timedelta(hours=6), took=timedelta(minutes=11))
    builders.payment(state=State.UNKNOWN)
    builders.payment(state=State.DECLINED, flagged=True)
    ended(State.APPROVED, ago=timedelta(days=3), took=timedelta(seconds=5))  # too old

    response = supervisor_client.get(URL)

    assert response.status_code == 200
    board = response.context["board"]
    assert board.in_flight_total == 3
    rows = [(row.flow, row.agent, row.count) for row in board.in_flight]
    assert rows == [("Cards", "agent1", 2), ("Cards", "agent2", 1)]
    hour, day = board.windows
    # The unknown and the flagged payment started just now (the latter never had a session).
    assert hour.counts == {"approved": 3, "declined": 2, "abandoned": 0, "unknown": 1}
    assert day.counts == {"approved": 4, "declined": 2, "abandoned": 1, "unknown": 1}
    assert hour.approval_rate == "60 %"
    assert hour.median == timedelta(seconds=25)  # 10, 20, 30, 40 s
    assert day.median == timedelta(seconds=30)  # 10, 20, 30, 40, 100 s; expired has no result
    assert board.queues == {"unknown": 1, "flagged": 1, "webhooks": 0, "poll_due": 3}
    html = unescape(response.content.decode())
    assert "In flight now: 3" in html
    assert "25.0 s" in html and "60 %" in html
    assert html.count('<rect class="bar-approved"') == 2  # two hours had approvals
    assert '<polyline class="rate"' in html
    assert 'hx-trigger="every 10s"' in html
    assert "<script" not in html.split('id="dashboard"', 1)[1]  # the charts need no script


def test_htmx_refreshes_the_board_alone(supervisor_client: Client) -> None:
    response = supervisor_client.get(URL, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard"')
    assert "<html" not in html


def test_administrators_see_it_and_it_is_linked_from_the_admin_index(
    administrator_user: User,
) -> None:
    client = builders.signed_in(administrator_user)
    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get("/admin/").content.decode()


def test_agents_and_strangers_are_kept_out(agent_user: User) -> None:
    assert builders.signed_in(agent_user).get(URL).status_code in (302, 403)
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_queries_do_not_grow_with_the_payments(
    supervisor_client: Client, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    supervisor_client.get(URL)  # the session and the user, loaded once
    for index in range(30):
        agent = builders.agent_user(f"agent-{index}", vcc_agent_id=str(2000 + index)).agent
        builders.live_payment(agent=agent)
        ended(State.APPROVED, ago=timedelta(hours=index % 24), took=timedelta(seconds=index))
    # Six of its own (seven on SQLite: the times to result are read to be added up in
    # Python); the session (read, touched in a savepoint) and the user's permissions.
    with django_assert_max_num_queries(14 if connection.vendor == "sqlite" else 13):
        supervisor_client.get(URL)
