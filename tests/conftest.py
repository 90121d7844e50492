"""Shared fixtures: the personas (an agent, a supervisor, an administrator), the built-in VCC
`sandbox` over real HTTP (tests/sandbox_fixtures.py), and the rule that under CI the real
PostgreSQL and Redis are used, never skipped."""

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.staff.signin import forget_all_failures
from tests import builders
from tests.sandbox_fixtures import sandbox  # noqa: F401  (the fixture everyone uses)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI:
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "django.db.backends.postgresql" or not settings.REDIS_URL:
            raise pytest.UsageError(
                "Under CI the suite runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL."
            )


def require_service(name: str, available: bool) -> None:
    """Skip on a laptop without the service; fail under CI, where it must be there."""
    if available:
        return
    message = f"{name} is not configured (set it in the environment to run this test)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def no_sign_in_locks() -> None:
    """Failed sign-ins are counted in the shared cache: one test's must not lock another's
    personas (nor the test client's address)."""
    forget_all_failures()


@pytest.fixture
def redis_url() -> str:
    require_service("REDIS_URL", bool(settings.REDIS_URL))
    return settings.REDIS_URL


@pytest.fixture
def agent_user(db: None) -> User:
    return builders.agent_user("agent1", vcc_agent_id="1001")


@pytest.fixture
def other_agent_user(db: None) -> User:
    return builders.agent_user("agent2", vcc_agent_id="1002")


@pytest.fixture
def supervisor_user(db: None) -> User:
    return builders.staff_user("supervisor", builders.SUPERVISORS)


@pytest.fixture
def administrator_user(db: None) -> User:
    return builders.staff_user("administrator", builders.ADMINISTRATORS)


@pytest.fixture
def supervisor_client(supervisor_user: User) -> Client:
    return builders.signed_in(supervisor_user)


class SentTasks(list[tuple[str, tuple[object, ...], float]]):
    """Tasks the code under test sent to the broker, by name: (name, args, countdown)."""

    def names(self) -> list[str]:
        return [name for name, _, _ in self]


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> SentTasks:
    """Record what services send to the broker instead of sending it (where the worker's
    behaviour is not what the test is about)."""
    from payments import services

    sent = SentTasks()

    class Recorder:
        def send_task(self, name: str, args: list[object], countdown: float = 0) -> None:
            sent.append((name, tuple(args), countdown))

    monkeypatch.setattr(services, "current_app", Recorder())
    return sent
