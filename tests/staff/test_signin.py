"""/login/ (agentdesk.staff.views.SignInView) and agentdesk/staff/signin.py: agents land on the
desk, supervisors on admin; failed sign-ins are counted per username and per address in the
shared cache and lock sign-in, on admin's own sign-in page as well."""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.test import Client

from agentdesk.staff.signin import failure_keys
from tests import builders

pytestmark = pytest.mark.django_db


@dataclass
class Caller:
    """A user and the address they sign in from, with their failure counters cleaned up."""

    username: str
    address: str

    def client(self) -> Client:
        return Client(REMOTE_ADDR=self.address)


@pytest.fixture
def fresh() -> Iterator[Callable[[], Caller]]:
    """Unique names and addresses, so counts never leak between tests or runs."""
    made: list[Caller] = []

    def make() -> Caller:
        caller = Caller(f"agent-{uuid.uuid4().hex[:8]}", f"198.51.100.{len(made) + 10}")
        made.append(caller)
        cache.delete_many(failure_keys(caller.username, caller.address))
        return caller

    yield make
    for caller in made:
        cache.delete_many(failure_keys(caller.username, caller.address))


def sign_in(client: Client, username: str, password: str = builders.PASSWORD, **extra: str):
    return client.post("/login/", {"username": username, "password": password, **extra})


def test_agent_signs_in_and_lands_on_the_desk(fresh) -> None:
    caller = fresh()
    builders.agent_user(caller.username, vcc_agent_id="9001")
    client = caller.client()
    response = sign_in(client, caller.username)
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).headers["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200


def test_supervisor_signs_in_and_lands_on_admin(fresh) -> None:
    caller = fresh()
    builders.staff_user(caller.username, builders.SUPERVISORS)
    client = caller.client()
    response = sign_in(client, caller.username, next="/")
    assert client.get(response.headers["Location"]).headers["Location"] == "/admin/"


def test_wrong_password_is_refused_with_a_message(fresh) -> None:
    caller = fresh()
    builders.agent_user(caller.username, vcc_agent_id="9002")
    response = sign_in(caller.client(), caller.username, "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_the_username_even_with_the_right_password(fresh, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    caller = fresh()
    builders.agent_user(caller.username, vcc_agent_id="9003")
    failed: list[str] = []

    def count(sender: object, credentials: dict[str, str], **kwargs: object) -> None:
        failed.append(credentials["username"])

    user_login_failed.connect(count)
    try:
        for _ in range(3):
            assert sign_in(caller.client(), caller.username, "wrong").status_code == 200
        locked = sign_in(caller.client(), caller.username)
    finally:
        user_login_failed.disconnect(count)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session
    # Django's signal still reports every real failure; the locked attempt tried no password.
    assert failed == [caller.username] * 3
    # Another address is locked out of this username as well.
    assert sign_in(fresh().client(), caller.username).status_code == 429


def test_repeated_failures_from_one_address_lock_that_address(fresh, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    guesser, guesses, victim = fresh(), [fresh() for _ in range(3)], fresh()
    builders.agent_user(victim.username, vcc_agent_id="9004")
    client = guesser.client()
    for guess in guesses:
        sign_in(client, guess.username, "guess")
    assert sign_in(client, victim.username).status_code == 429
    assert sign_in(victim.client(), victim.username).status_code == 302


def test_a_successful_sign_in_clears_the_username_count(fresh, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    caller, elsewhere = fresh(), fresh()
    builders.agent_user(caller.username, vcc_agent_id="9005")
    for _ in range(2):
        sign_in(caller.client(), caller.username, "wrong")
    assert sign_in(caller.client(), caller.username).status_code == 302
    # Two more failures from elsewhere would have locked it, had the first two still counted.
    for _ in range(2):
        sign_in(elsewhere.client(), caller.username, "wrong")
    assert sign_in(caller.client(), caller.username).status_code == 302


def test_admin_sign_in_is_throttled_too(fresh, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    caller = fresh()
    builders.staff_user(caller.username, builders.SUPERVISORS)
    url = "/admin/login/?next=/admin/"
    for _ in range(2):
        sign_in(caller.client(), caller.username, "wrong")  # failures on our page count there
    response = caller.client().post(
        url, {"username": caller.username, "password": builders.PASSWORD}
    )
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_anonymous_desk_visit_asks_to_sign_in() -> None:
    response = Client().get("/desk/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/desk/"


def test_signed_in_user_visiting_sign_in_goes_home(agent_user: User) -> None:
    client = Client()
    client.force_login(agent_user)
    assert client.get("/login/").status_code == 302
