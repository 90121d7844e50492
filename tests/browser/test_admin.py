"""The supervisors' admin in a real browser (Chromium at 1366 px, the width of a common
laptop) against the live server: a supervisor signs in, reads the payment list (no sideways
scrolling, approved apart from attempted), opens the work queue, sees why a payment waits
and its timeline near the top, resolves it, and the page says so; an administrator adds an
agent (user, role and VCC agent id) in one screen and picks a flow's VCC account."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from agentdesk.staff.models import AGENTS, Agent
from payments.models import Payment
from tests import builders
from tests.browser.conftest import Shots

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1366, 768


def fits_the_width(page: Page) -> bool:
    """Neither the page nor any of its boxes (admin's results table scrolls in its own box)
    is wider than it shows."""
    return bool(
        page.evaluate(
            """document.documentElement.scrollWidth <= window.innerWidth &&
               [...document.querySelectorAll('.results, #content-main, fieldset')]
                 .every(box => box.scrollWidth <= box.clientWidth)"""
        )
    )


def top_of(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


def admin_page(
    browser: Any, base: str, username: str, **options: Any
) -> tuple[BrowserContext, Page]:
    """A browser context at 1366 by 768 px with `username` signed in to admin."""
    context: BrowserContext = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, **options
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return context, page


def test_supervisor_resolves_a_payment_of_unknown_outcome(
    browser: Any, live_server: LiveServer, shots: Shots
) -> None:
    builders.agent_user("agent1", vcc_agent_id="1001")
    builders.staff_user("supervisor", builders.SUPERVISORS)
    long_name = builders.customer(first_name="Maximiliana", last_name="Featherstonehaugh-Smythe")
    retried = builders.order(reference="DEMO-1001", amount=Decimal("49.99"), customer=long_name)
    builders.payment(order=retried, state="declined", gateway_reference="GW-1")
    builders.payment(order=retried, state="approved", gateway_reference="GW-2")
    waiting = builders.payment(
        order=builders.order(reference="DEMO-1002", amount=Decimal("12.40")),
        state="unknown",
        message="No result from VCC within 15 minutes",
        created_at=datetime(2026, 5, 1, 14, 5, tzinfo=UTC),
    )
    builders.payment_event(
        waiting, source="poll", from_state="in_progress", to_state="unknown", message="Timed out"
    )
    contradicted = builders.payment(
        order=builders.order(reference="DEMO-1003"), state="approved", flagged=True
    )
    builders.payment_event(
        contradicted,
        source="webhook",
        kind="contradiction",
        to_state="",
        message="Contradictory result: DECLINE after ACCEPT",
    )
    for n in range(12):
        builders.payment(order=builders.order(reference=f"DEMO-20{n:02d}"), state="approved")

    base = live_server.url
    context, page = admin_page(browser, base, "supervisor")

    page.goto(f"{base}/admin/payments/payment/")
    shots(page, "payment-list")
    assert fits_the_width(page), "the payment list scrolls sideways at 1366 px"
    expect(page.locator("table.totals")).to_contain_text("Approved amount")
    expect(page.locator("#result_list")).to_contain_text("UTC")

    page.fill("#searchbar", "demo-100")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    # The totals are the search's: four attempts, two of them approved.
    expect(page.locator("table.totals")).to_contain_text("124.78")
    expect(page.locator("table.totals")).to_contain_text("62.39")
    shots(page, "search-by-prefix")

    page.click("text=1 of unknown outcome")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.click("#result_list a:has-text('DEMO-1002')")
    resolve = page.locator("a.resolve-button")
    expect(resolve).to_be_visible()
    shots(page, "payment-waiting")
    assert fits_the_width(page)
    assert top_of(page, "a.resolve-button") < HEIGHT, "Resolve is below the first screen"
    assert top_of(page, "table.timeline") < 2 * HEIGHT, "the timeline is far down the page"
    expect(page.locator(".needs-supervisor")).to_contain_text(
        "Outcome unknown: No result from VCC within 15 minutes."
    )

    resolve.click()
    page.check("input[value=not_taken]")
    page.fill("textarea[name=reason]", "The caller's bank shows no charge")
    shots(page, "resolve-form")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("resolved as abandoned")
    expect(page.locator(".needs-supervisor")).to_have_count(0)
    expect(page.locator("table.timeline")).to_contain_text("The caller's bank shows no charge")
    shots(page, "resolved")
    waiting.refresh_from_db()
    assert waiting.state == Payment.State.ABANDONED and waiting.resolved_at is not None

    page.goto(f"{base}/admin/payments/payment/{contradicted.pk}/change/")
    expect(page.locator(".needs-supervisor")).to_contain_text(
        "Flagged: Contradictory result: DECLINE after ACCEPT."
    )
    shots(page, "flagged")

    page.goto(f"{base}/admin/payments/payment/")
    page.click("text=1 flagged")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("table.totals tbody")).to_contain_text("12.40")
    expect(page.locator("table.totals tbody")).not_to_contain_text("49.99")
    shots(page, "flagged-queue")
    context.close()


def test_administrator_adds_an_agent_in_one_screen(
    browser: Any, live_server: LiveServer, shots: Shots
) -> None:
    builders.staff_user("administrator", builders.ADMINISTRATORS)
    base = live_server.url
    context, page = admin_page(browser, base, "administrator")

    page.goto(f"{base}/admin/auth/user/add/")
    page.fill("#id_username", "agent7")
    page.fill("#id_password1", "a-long-enough-secret")
    page.fill("#id_password2", "a-long-enough-secret")
    page.fill("#id_first_name", "Ana")
    page.fill("#id_last_name", "Lopez")
    page.select_option("#id_groups_from", label="Agents")
    page.click("#id_groups_add")
    page.click("text=Add another agent at the desk")
    page.fill("#id_agent-0-vcc_agent_id", "1007")
    shots(page, "add-user-with-agent")
    assert fits_the_width(page)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("agent7")
    shots(page, "user-added")
    agent = Agent.objects.select_related("user").get(vcc_agent_id="1007")
    assert agent.user.groups.filter(name=AGENTS).exists()

    page.goto(f"{base}/admin/payments/paymentflow/add/")
    expect(page.locator("select[name=account]")).to_have_value("builtin")
    shots(page, "flow-account-choice")
    context.close()
