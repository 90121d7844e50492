"""/admin/axes/accessattempt/ (agentdesk/staff/admin.py LockedSignInAdmin): administrators see
the sign-ins django-axes locked and unlock them, audited; nobody else does."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from agentdesk.staff.models import AuditEntry
from tests import builders

pytestmark = pytest.mark.django_db

URL = "/admin/axes/accessattempt/"
OFFICE = "203.0.113.7"


@pytest.fixture
def locked_amy(settings) -> Client:
    settings.AXES_FAILURE_LIMIT = 2
    builders.agent_user("amy", vcc_agent_id="9101")
    client = Client(REMOTE_ADDR=OFFICE)
    for _ in range(2):
        client.post("/login/", {"username": "amy", "password": "wrong"})
    assert (
        client.post("/login/", {"username": "amy", "password": builders.PASSWORD}).status_code
        == 429
    )
    return client


def test_an_administrator_sees_the_locked_sign_in_and_unlocks_it(
    locked_amy, administrator_user
) -> None:
    admin = builders.signed_in(administrator_user, REMOTE_ADDR="192.0.2.10")
    listing = admin.get(URL + "?locked=yes").content.decode()
    assert "amy" in listing and OFFICE in listing
    attempt = AccessAttempt.objects.get()
    response = admin.post(URL, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True)
    assert "1 sign-in(s) unlocked." in response.content.decode()
    assert (
        locked_amy.post("/login/", {"username": "amy", "password": builders.PASSWORD}).status_code
        == 302
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.SIGN_IN_UNLOCKED)
    assert (entry.actor, entry.target, entry.ip_address) == (
        administrator_user,
        "amy",
        "192.0.2.10",
    )
    # Two wrong passwords and the try while locked.
    assert entry.details == {"address": OFFICE, "failures": 3}


def test_a_locked_sign_in_cannot_be_deleted_unaudited(locked_amy, administrator_user) -> None:
    admin = builders.signed_in(administrator_user)
    attempt = AccessAttempt.objects.get()
    assert admin.post(f"{URL}{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.exists()


def test_supervisors_and_agents_do_not_see_locked_sign_ins(
    locked_amy, supervisor_client, agent_user
) -> None:
    assert supervisor_client.get(URL).status_code == 403
    attempt = AccessAttempt.objects.get()
    supervisor_client.post(URL, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert AccessAttempt.objects.exists()
    assert builders.signed_in(agent_user).get(URL).status_code == 302
