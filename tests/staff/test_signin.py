"""/login/ (agentdesk.staff.views.SignInView), admin's sign-in page, django-axes' throttling
(settings AXES_*), and the client address behind trusted proxies
(agentdesk/staff/addresses.py): agents land on the desk, supervisors on admin; failed sign-ins
lock one username from one address, never a whole office behind one proxy."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.staff.models import AuditEntry
from tests import builders

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
OFFICE = "203.0.113.7"


def sign_in(client: Client, username: str, password: str = builders.PASSWORD, **extra: str):
    return client.post("/login/", {"username": username, "password": password, **extra})


def via_proxy(client_address: str) -> Client:
    """A browser at `client_address` reaching us through the load balancer."""
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)


@pytest.fixture
def behind_proxy(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.AXES_FAILURE_LIMIT = 3


def test_agent_signs_in_and_lands_on_the_desk() -> None:
    builders.agent_user("amy", vcc_agent_id="9001")
    client = Client()
    response = sign_in(client, "amy")
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).headers["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200


def test_supervisor_signs_in_and_lands_on_admin() -> None:
    builders.staff_user("sam", builders.SUPERVISORS)
    client = Client()
    response = sign_in(client, "sam", next="/")
    assert client.get(response.headers["Location"]).headers["Location"] == "/admin/"


def test_wrong_password_is_refused_with_a_message() -> None:
    builders.agent_user("amy", vcc_agent_id="9002")
    response = sign_in(Client(), "amy", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_failures_lock_that_user_from_that_address_even_with_the_right_password(
    behind_proxy,
) -> None:
    builders.agent_user("amy", vcc_agent_id="9003")
    statuses = [sign_in(via_proxy(OFFICE), "amy", "wrong").status_code for _ in range(3)]
    # The third failure locks: it is answered with the lock already.
    assert statuses == [200, 200, 429]
    locked = sign_in(via_proxy(OFFICE), "amy")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session
    # Amy from home, through the same proxy, is not locked out by the office's failures.
    assert sign_in(via_proxy("198.51.100.20"), "amy").status_code == 302


def test_failures_of_one_user_do_not_lock_a_colleague_behind_the_same_proxy(
    behind_proxy,
) -> None:
    builders.agent_user("amy", vcc_agent_id="9004")
    builders.agent_user("ben", vcc_agent_id="9005")
    for _ in range(3):
        sign_in(via_proxy(OFFICE), "amy", "wrong")
    assert sign_in(via_proxy(OFFICE), "amy").status_code == 429
    assert sign_in(via_proxy(OFFICE), "ben").status_code == 302
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("amy", OFFICE)


def test_a_forwarded_for_from_an_untrusted_peer_is_ignored(behind_proxy) -> None:
    builders.agent_user("amy", vcc_agent_id="9006")
    attacker = "198.51.100.66"  # straight to the app, not through the proxy
    for n in range(3):
        spoofed = Client(REMOTE_ADDR=attacker, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        sign_in(spoofed, "amy", "wrong")
    # A fresh made-up address does not give the attacker fresh tries.
    fresh = Client(REMOTE_ADDR=attacker, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert sign_in(fresh, "amy").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {attacker}
    failed = AuditEntry.objects.filter(action=AuditEntry.Action.SIGN_IN_FAILED)
    assert set(failed.values_list("ip_address", flat=True)) == {attacker}


def test_without_trusted_proxies_the_forwarded_for_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    builders.agent_user("amy", vcc_agent_id="9007")
    sign_in(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=OFFICE), "amy")
    assert AuditEntry.objects.get(action=AuditEntry.Action.SIGN_IN).ip_address == PROXY


def test_the_audit_trail_records_the_real_client_address(behind_proxy) -> None:
    builders.agent_user("amy", vcc_agent_id="9008")
    # A client's own X-Forwarded-For is kept by the proxy, which appends what it saw.
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {OFFICE}")
    sign_in(client, "amy", "wrong")
    sign_in(client, "amy")
    entries = AuditEntry.objects.filter(actor_name="amy")
    assert {e.action: e.ip_address for e in entries} == {
        AuditEntry.Action.SIGN_IN_FAILED: OFFICE,
        AuditEntry.Action.SIGN_IN: OFFICE,
    }


def test_a_successful_sign_in_clears_the_count(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    builders.agent_user("amy", vcc_agent_id="9009")
    for _ in range(2):
        sign_in(Client(), "amy", "wrong")
    assert sign_in(Client(), "amy").status_code == 302
    for _ in range(2):
        sign_in(Client(), "amy", "wrong")
    assert sign_in(Client(), "amy").status_code == 302


def test_admin_sign_in_is_throttled_too(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    builders.staff_user("sam", builders.SUPERVISORS)
    for _ in range(2):
        sign_in(Client(), "sam", "wrong")  # failures on our page count there
    response = Client().post(
        "/admin/login/?next=/admin/", {"username": "sam", "password": builders.PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_a_card_number_typed_as_a_username_is_not_kept_by_the_lock() -> None:
    sign_in(Client(), "4111 1111 1111 1111", "wrong")
    attempt = AccessAttempt.objects.get()
    stored = f"{attempt.username} {attempt.post_data} {attempt.get_data}"
    assert "4111" not in stored and "1111" not in stored


def test_anonymous_desk_visit_asks_to_sign_in() -> None:
    response = Client().get("/desk/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/desk/"


def test_signed_in_user_visiting_sign_in_goes_home(agent_user: User) -> None:
    client = Client()
    client.force_login(agent_user)
    assert client.get("/login/").status_code == 302
