"""The status poll's quick answer (agentdesk/desk/quickpoll.py): once the full poll has checked a
session, "unchanged" comes from the cache with no query; a change made by the state machine is
seen at the next poll; and nobody the full poll would refuse hears anything from it."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from agentdesk.staff.models import Agent
from payments import services, state_cache
from payments.models import Order, Payment, PaymentEvent, PaymentFlow
from payments.vcc.parsing import session_status
from tests import builders
from tests.desk.conftest import HTMX

pytestmark = pytest.mark.django_db

State = Payment.State


def poll(client: Client, payment: Payment, seen: str = State.IN_PROGRESS) -> Any:
    return client.get(f"/desk/payments/{payment.pk}/status/", {"seen": seen}, **HTMX)


def quick(client: Client, payment: Payment, seen: str = State.IN_PROGRESS) -> tuple[int, int]:
    """The poll's status code and how many queries it made."""
    with CaptureQueriesContext(connection) as queries:
        response = poll(client, payment, seen)
    return response.status_code, len(queries.captured_queries)


@pytest.fixture
def live(agent: Agent, order: Order, flow: PaymentFlow) -> Payment:
    return builders.payment(order=order, agent=agent, flow=flow, state=State.IN_PROGRESS)


def approve(payment: Payment, capture: Any) -> None:
    """The result arriving as the worker applies it, its transaction committed."""
    body = builders.session_body(payment.session_guid or "", decision="ACCEPT")
    with capture(execute=True):
        services.apply_result(
            payment_id=payment.pk,
            status=session_status(body, currency="GBP"),
            source=PaymentEvent.Source.POLL,
        )


def test_after_one_full_poll_unchanged_costs_no_query_and_a_change_is_seen_at_once(
    agent_client: Client, live: Payment, django_capture_on_commit_callbacks: Any
) -> None:
    agent_client.get("/desk/")
    assert quick(agent_client, live) == (204, 3)  # the session, the user, the state
    assert quick(agent_client, live) == (204, 0)  # from the cache
    assert quick(agent_client, live) == (204, 0)
    approve(live, django_capture_on_commit_callbacks)
    response = poll(agent_client, live)
    assert response.status_code == 286
    assert '">Approved</span> The order is paid.</p>' in response.content.decode()


def test_a_state_that_left_the_cache_costs_one_query_not_the_whole_stack(
    agent_client: Client, live: Payment
) -> None:
    agent_client.get("/desk/")
    assert quick(agent_client, live) == (204, 3)
    cache.delete(state_cache.key(live.pk))  # as its 30 s in the cache run out
    with CaptureQueriesContext(connection) as queries:
        assert poll(agent_client, live).status_code == 204
    (query,) = queries.captured_queries  # the state of the agent's payment, nothing else
    assert 'FROM "payments_payment"' in query["sql"] and "django_session" not in query["sql"]
    assert quick(agent_client, live) == (204, 0)  # and in the cache again
    # Changed meanwhile, behind the cache's back: the full poll renders it.
    Payment.objects.filter(pk=live.pk).update(state=State.DECLINED)
    cache.delete(state_cache.key(live.pk))
    assert poll(agent_client, live).status_code == 286


def test_a_page_showing_another_state_gets_the_full_panel(
    agent_client: Client, live: Payment
) -> None:
    poll(agent_client, live)
    response = poll(agent_client, live, seen=State.STARTING)
    assert response.status_code == 200
    assert f"/status/?seen={State.IN_PROGRESS}" in response.content.decode()


def test_another_agents_grant_does_not_reach_this_payment(
    agent_client: Client, other_agent_client: Client, live: Payment, other_agent_user: Any
) -> None:
    poll(agent_client, live)  # the payment's state is in the cache
    theirs = builders.payment(agent=other_agent_user.agent, state=State.IN_PROGRESS)
    assert poll(other_agent_client, theirs).status_code == 204  # their own grant
    assert poll(other_agent_client, live).status_code == 404
    assert poll(other_agent_client, live).status_code == 404


def test_no_session_or_a_made_up_one_hears_nothing(agent_client: Client, live: Payment) -> None:
    poll(agent_client, live)
    stranger = Client()
    assert "HX-Redirect" in poll(stranger, live).headers
    stranger.cookies[django_settings.SESSION_COOKIE_NAME] = "x" * 32
    assert "HX-Redirect" in poll(stranger, live).headers


def test_signing_out_ends_the_quick_answer_at_once(agent_client: Client, live: Payment) -> None:
    assert quick(agent_client, live)[0] == 204
    assert quick(agent_client, live) == (204, 0)
    cookie = agent_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert agent_client.post("/logout/").status_code == 302
    agent_client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie  # the old cookie, replayed
    assert "HX-Redirect" in poll(agent_client, live).headers


def test_past_the_absolute_timeout_the_poll_signs_the_agent_out(
    agent_client: Client, live: Payment, settings: Settings
) -> None:
    settings.SESSION_ABSOLUTE_SECONDS = 0  # the session's 12 hours are over
    agent_client.get("/desk/")
    assert "HX-Redirect" in poll(agent_client, live).headers
    assert "HX-Redirect" in poll(agent_client, live).headers


def test_with_the_cache_down_the_full_poll_answers(
    agent_client: Client, live: Payment, settings: Settings
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    agent_client.get("/desk/")
    assert quick(agent_client, live) == (204, 3)
    assert quick(agent_client, live) == (204, 3)
    assert poll(agent_client, live, seen=State.STARTING).status_code == 200


def test_the_quick_answers_stay_out_of_the_access_log(
    agent_client: Client, live: Payment, tmp_path: Any
) -> None:
    """gunicorn's logger as our config sets it up, writing to a file: the full poll is logged,
    the unchanged answers from the cache are not (200 desks would write 17 million a day)."""
    from gunicorn.config import Config

    from agentdesk import gunicorn as web

    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", web.access_log_format)
    log = web.logger_class(config)
    answered = timedelta(milliseconds=2)
    for response in (poll(agent_client, live), poll(agent_client, live), poll(agent_client, live)):
        environ = {**response.wsgi_request.META, "RAW_URI": response.wsgi_request.path}
        sent = SimpleNamespace(status=f"{response.status_code} No Content", headers=[], sent=0)
        log.access(sent, SimpleNamespace(headers=[]), environ, answered)
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert len(lines) == 1 and f"GET /desk/payments/{live.pk}/status/ HTTP/1.1" in lines[0]
