"""The supervisors' dashboard (/admin/dashboard/) in a real browser: a supervisor opens it
from the admin index, the page breaks none of our CSP (no console error), and a payment started
meanwhile appears in "In flight now" without a reload (htmx's refresh, shortened here)."""

import pytest
from playwright.sync_api import BrowserContext, expect
from pytest_django.live_server_helper import LiveServer

from payments.admin import dashboard
from tests import builders
from tests.browser.conftest import Shots

pytestmark = pytest.mark.browser


def test_the_dashboard_refreshes_itself_under_our_csp(
    live_server: LiveServer,
    context: BrowserContext,
    shots: Shots,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard, "REFRESH_SECONDS", 1)
    builders.staff_user("supervisor", "Supervisors")
    builders.live_payment()
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Dashboard")
    expect(page.locator("#dashboard h2").first).to_have_text("In flight now: 1")
    expect(page.locator("svg.chart rect")).not_to_have_count(0)
    shots(page, "dashboard")
    page.evaluate("() => { window.dashboardPageId = 'the same page'; }")

    builders.live_payment()

    expect(page.locator("#dashboard h2").first).to_have_text("In flight now: 2", timeout=10_000)
    assert page.evaluate("() => window.dashboardPageId") == "the same page"
    shots(page, "refreshed")
    # The browser's only complaint is the favicon we do not have (a 404), never our CSP.
    assert not [error for error in errors if "Content Security Policy" in error], errors
