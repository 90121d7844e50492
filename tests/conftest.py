"""Shared fixtures: the personas (an agent, a supervisor, an administrator), the built-in VCC
`sandbox` over real HTTP (tests/sandbox_fixtures.py), and the rule that under CI the real
PostgreSQL and Redis are used, never skipped."""

import os
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.db.models import Q
from django.test import Client

from tests import builders
from tests.sandbox_fixtures import sandbox  # noqa: F401  (the fixture everyone uses)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    # A password costs Django's PBKDF2 about half a second, on purpose: in tests, that is most
    # of the time spent making personas. Sign-in still checks the password, only faster.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        empty_tables_by_delete()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker and settings.REDIS_URL:
        # Each of pytest-xdist's workers gets a Redis database of its own (cache and broker),
        # which every test starts empty (`fresh_cache`): gw0 the next one after REDIS_URL's,
        # and so on. Processes a test starts inherit it through the environment.
        base, _, number = settings.REDIS_URL.rpartition("/")
        own = f"{base}/{int(number or 0) + 1 + int(worker.removeprefix('gw'))}"
        os.environ["REDIS_URL"] = settings.REDIS_URL = own
        settings.CACHES["default"]["LOCATION"] = settings.CELERY_BROKER_URL = own
    if IN_CI:
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "django.db.backends.postgresql" or not settings.REDIS_URL:
            raise pytest.UsageError(
                "Under CI the suite runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL."
            )


def empty_tables_by_delete() -> None:
    """Tests on a committed database end by emptying every table. PostgreSQL's TRUNCATE (what
    Django uses) takes about 0.3 s on this small database, as it replaces every table's files;
    DELETE takes 0.05 s. Foreign keys are checked at commit, so the order does not matter."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    def sql_flush(
        self: DatabaseOperations, style: Any, tables: list[str], **options: bool
    ) -> list[str]:
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]


def require_service(name: str, available: bool) -> None:
    """Skip on a laptop without the service; fail under CI, where it must be there."""
    if available:
        return
    message = f"{name} is not configured (set it in the environment to run this test)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """The shared cache starts empty: one test's failed sign-ins must not lock another's
    personas (nor the test client's address), nor its failures open a circuit breaker."""
    cache.clear()


@pytest.fixture(scope="session")
def role_grants(django_db_setup: None, django_db_blocker: Any) -> dict[str, list[tuple[str, str]]]:
    """The role groups as the migrations left them: each group's permissions by natural key."""
    with django_db_blocker.unblock():
        return {
            group.name: list(group.permissions.values_list("content_type__app_label", "codename"))
            for group in Group.objects.all()
        }


@pytest.fixture
def committed_db(transactional_db: None) -> None:
    """A database whose writes are committed, for tests where other threads or processes (the
    live server, a worker) must see them. Each such test ends by emptying every table."""


@pytest.fixture(autouse=True)
def role_groups(request: pytest.FixtureRequest, django_db_blocker: Any) -> None:
    """Before a test on a committed database: the role groups the migrations made, which the
    previous such test's emptying removed (the permissions come back by themselves, through
    post_migrate). Done first, before any fixture makes a persona in a group."""
    if "transactional_db" not in request.fixturenames:
        return
    role_grants: dict[str, list[tuple[str, str]]] = request.getfixturevalue("role_grants")
    with django_db_blocker.unblock():
        if Group.objects.exists():
            return
        for name, grants in role_grants.items():
            wanted = Q(pk__in=[])
            for app_label, codename in grants:
                wanted |= Q(content_type__app_label=app_label, codename=codename)
            Group.objects.create(name=name).permissions.set(Permission.objects.filter(wanted))


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
    """Record what the outbox sends to the broker instead of sending it (where the worker's
    behaviour is not what the test is about)."""
    from payments import outbox

    sent = SentTasks()

    class Recorder:
        def send_task(self, name: str, args: list[object], countdown: float = 0) -> None:
            sent.append((name, tuple(args), countdown))

    monkeypatch.setattr(outbox, "current_app", Recorder())
    return sent
