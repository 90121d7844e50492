"""/admin/auth/user/add/ and /admin/payments/paymentflow/add/: an administrator adds an agent
(sign-in, name, role and VCC agent id) in one screen, and picks a flow's VCC account from the
configured ones instead of typing it."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from agentdesk.staff.models import AGENTS, Agent
from payments.models import PaymentFlow
from tests import builders

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-secret"


def new_agent_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": "agent7",
        "usable_password": "true",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": "ana@example.com",
        "groups": [Group.objects.get(name=AGENTS).pk],
        "agent-TOTAL_FORMS": "1",
        "agent-INITIAL_FORMS": "0",
        "agent-MIN_NUM_FORMS": "0",
        "agent-MAX_NUM_FORMS": "1",
        "agent-0-vcc_agent_id": "1007",
    }
    data.update(changes)
    return data


def test_an_agent_is_added_in_one_screen(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    page = client.get("/admin/auth/user/add/").content.decode()
    assert 'name="agent-0-vcc_agent_id"' not in page  # added on demand, by the inline's link
    assert "agent-TOTAL_FORMS" in page and 'name="groups"' in page
    response = client.post("/admin/auth/user/add/", new_agent_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = Agent.objects.select_related("user").get(vcc_agent_id="1007")
    assert (agent.user.username, agent.user.get_full_name()) == ("agent7", "Ana Lopez")
    assert list(agent.user.groups.values_list("name", flat=True)) == [AGENTS]
    assert not agent.user.is_staff
    signed_in = Client().post("/login/", {"username": "agent7", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.url == "/"


def test_a_taken_vcc_agent_id_is_refused_on_the_same_screen(administrator_user: User) -> None:
    builders.agent_user("agent1", vcc_agent_id="1001")
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/auth/user/add/", new_agent_form(**{"agent-0-vcc_agent_id": "1001"})
    )
    assert response.status_code == 200
    assert "Agent with this VCC agent id already exists." in response.content.decode()
    assert not User.objects.filter(username="agent7").exists()


def test_the_users_page_shows_and_changes_their_vcc_agent_id(administrator_user: User) -> None:
    user = builders.agent_user("agent3", vcc_agent_id="1003")
    client = builders.signed_in(administrator_user)
    page = client.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    assert 'name="agent-0-vcc_agent_id"' in page and 'value="1003"' in page


def test_a_flows_vcc_account_is_a_choice_of_the_configured_ones(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    page = client.get("/admin/payments/paymentflow/add/").content.decode()
    assert '<select name="account"' in page
    assert '<option value="builtin" selected>builtin</option>' in page
    flow = builders.flow(name="Old", account="retired")
    page = client.get(f"/admin/payments/paymentflow/{flow.pk}/change/").content.decode()
    assert '<option value="retired" selected>retired (not configured)</option>' in page
    assert PaymentFlow.objects.filter(account="retired").exists()
