"""Browser tests: Playwright driving Debian's Chromium (headless) against pytest-django's live
server, with the built-in VCC sandbox and a real Celery worker and beat (separate processes, on
the test database and the Redis broker), as in production.

Each test saves a screenshot of every step under tests/screenshots/<test>/ (git-ignored) and
runs its own Chromium; the worker and beat serve the module.
Without Chromium or Redis they are skipped on a laptop and fail under CI (`require_service`)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests import builders
from tests.conftest import require_service
from tests.crm_server import TOKEN, running_crm
from tests.sandbox_fixtures import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The provider page lives this long for the worker and the sandbox in these tests (production:
# 10 minutes), so an expired page can be shown in a test that waits a little.
PAGE_LIFETIME_SECONDS = 20
READY_TIMEOUT = 90
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture
def browser(committed_db: None) -> Iterator[Browser]:
    """Chromium for one test, started once the test's database is ready.

    While it runs, Playwright's sync API keeps its event loop running in this thread: Django
    then sees an async context, so the ORM is allowed explicitly (and only) meanwhile, and the
    test's queries get connections of their own (asgiref's Local), closed at the end."""
    require_service(f"Chromium ({CHROMIUM}; `make browser` installs it)", Path(CHROMIUM).exists())
    with sync_playwright() as playwright, allow_orm_in_async_context():
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


@contextmanager
def allow_orm_in_async_context() -> Iterator[None]:
    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        yield
    finally:
        if before is None:
            del os.environ[ASYNC_UNSAFE]
        else:
            os.environ[ASYNC_UNSAFE] = before


def live_database_url() -> str:
    """The URL of the database the live server uses (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{db['HOST']}{port}/{db['NAME']}"


class Process:
    """A subprocess whose output is kept, to wait for a line and to show when it fails."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, pattern: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, line) for line in self.lines):
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        tail = "\n".join(self.lines[-40:])
        pytest.fail(f"{self.name} did not become ready ({pattern!r}):\n{tail}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=15)


@pytest.fixture(scope="module")
def page_lifetime_seconds() -> int:
    """The provider page's lifetime for this module's worker (a module may want a longer one)."""
    return PAGE_LIFETIME_SECONDS


@pytest.fixture(scope="module")
def celery_worker(
    live_server: LiveServer,
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
    page_lifetime_seconds: int,
) -> Iterator[Process]:
    """A real Celery worker and beat on the test database and the Redis broker, talking to the
    sandbox on the live server, for this module's tests only (left running, they would poll
    other tests' payments). Queued messages left from an earlier run are purged first."""
    require_service("REDIS_URL", bool(settings.REDIS_URL))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SITE_URL": live_server.url,
        "VCC_PAGE_LIFETIME_SECONDS": str(page_lifetime_seconds),
        "DB_CONN_MAX_AGE": "0",
    }
    name = f"desk-browser-{uuid.uuid4().hex[:8]}@%h"
    celery = [sys.executable, "-m", "celery", "-A", "agentdesk"]
    worker = Process(
        "celery worker",
        [*celery, "worker", "-P", "solo", "--purge", "-n", name, "--loglevel=INFO"],
        env,
    )
    worker.wait_for(r"\bready\.", READY_TIMEOUT)
    schedule = tmp_path_factory.mktemp("beat") / "schedule"
    beat = Process("celery beat", [*celery, "beat", "-s", str(schedule), "--loglevel=INFO"], env)
    beat.wait_for(r"beat: Starting", READY_TIMEOUT)
    yield worker
    beat.stop()
    worker.stop()


class Shots:
    """Screenshots of each step: tests/screenshots/<test>/<nn>-<step>.png."""

    def __init__(self, test_name: str) -> None:
        self.folder = SCREENSHOTS / re.sub(r"[^\w-]+", "-", test_name).strip("-")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    context.close()


CRM_CUSTOMER: dict[str, Any] = {
    "id": "CRM-5001",
    "first_name": "Priya",
    "last_name": "Patel",
    "email": "priya.patel@example.com",
    "phone": "+441632960961",
    "billing_address": {
        "line1": "12 Acacia Avenue",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "GB",
    },
    "orders": [
        {
            "reference": "INV-5001",
            "amount": "49.99",
            "currency": "GBP",
            "description": "Annual magazine subscription",
        },
    ],
}


@pytest.fixture
def desk(
    sandbox: Sandbox,
    celery_worker: Process,
    live_server: LiveServer,
    settings: Any,
    page_lifetime_seconds: int,
) -> Iterator[str]:
    """The live server with an agent, a default staging flow in the iframe, the sandbox's page
    lifetime as short as the worker's, and a JSON CRM holding Priya; its base URL."""
    builders.agent_user("agent1", vcc_agent_id="1001")
    builders.flow(name="Sandbox cards (staging)")
    sandbox.knobs(page_lifetime_seconds=page_lifetime_seconds)
    with running_crm([CRM_CUSTOMER]) as crm:
        settings.CRM_ADAPTER, settings.CRM_URL, settings.CRM_TOKEN = "http", crm.url, TOKEN
        yield live_server.url
