"""agentdesk/staff/sessions.py: signed-in sessions end after SESSION_IDLE_SECONDS without the agent
doing anything, and SESSION_ABSOLUTE_SECONDS after sign-in however busy they are."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from agentdesk.staff.sessions import RENEWED_AT, SIGNED_IN_AT
from tests.builders import signed_in

pytestmark = pytest.mark.django_db


def expiry(client: Client) -> object:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def renewed_a_while_ago(client: Client, seconds: int) -> None:
    session = client.session
    session[RENEWED_AT] = int(time.time()) - seconds
    session.save()


def test_what_the_agent_does_renews_the_idle_timeout(agent_user: User) -> None:
    client = signed_in(agent_user)
    assert client.get("/desk/").status_code == 200
    renewed_a_while_ago(client, 61)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    assert client.get("/desk/").status_code == 200
    assert expiry(client) > timezone.now() + timedelta(minutes=29)


def test_within_a_minute_of_a_renewal_a_page_does_not_write_the_session(
    agent_user: User, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(agent_user)
    assert client.get("/desk/").status_code == 200
    renewed_a_while_ago(client, 30)
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=soon)
    with django_assert_max_num_queries(6):
        assert client.get("/desk/").status_code == 200
    assert expiry(client) == soon


def test_an_idle_session_ends(agent_user: User) -> None:
    client = signed_in(agent_user)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/desk/"


def test_a_busy_session_ends_at_the_absolute_timeout(agent_user: User, settings) -> None:
    client = signed_in(agent_user)
    assert client.get("/desk/").status_code == 200
    assert client.session[SIGNED_IN_AT] == pytest.approx(time.time(), abs=5)
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/desk/"
    assert not Session.objects.filter(session_key=session.session_key).exists()
