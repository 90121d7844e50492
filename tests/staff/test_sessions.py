"""agentdesk/staff/sessions.py: signed-in sessions end after SESSION_IDLE_SECONDS without the agent
doing anything, and SESSION_ABSOLUTE_SECONDS after sign-in however busy they are."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from agentdesk.staff.sessions import SIGNED_IN_AT
from tests.builders import signed_in

pytestmark = pytest.mark.django_db


def expiry(client: Client) -> object:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_what_the_agent_does_renews_the_idle_timeout(agent_user: User) -> None:
    client = signed_in(agent_user)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    assert client.get("/desk/").status_code == 200
    assert expiry(client) > timezone.now() + timedelta(minutes=29)


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
