"""axe-core over the supervisors' pages in Chromium (1366 px): the payment list, a payment
waiting for a supervisor, the resolve form and the dashboard have no violation."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from tests import builders
from tests.browser.axe import axe_violations
from tests.browser.conftest import Shots

pytestmark = pytest.mark.browser


def test_axe_finds_nothing_on_the_supervisors_pages(
    browser: Any, live_server: LiveServer, shots: Shots
) -> None:
    builders.agent_user("agent1", vcc_agent_id="1001")
    builders.staff_user("supervisor", builders.SUPERVISORS)
    builders.payment(order=builders.order(reference="DEMO-1001"), state="approved")
    waiting = builders.payment(
        order=builders.order(reference="DEMO-1002", amount=Decimal("12.40")),
        state="unknown",
        message="No result from VCC within 15 minutes",
        created_at=datetime(2026, 5, 1, 14, 5, tzinfo=UTC),
    )
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    for name, path in [
        ("payment-list", "/admin/payments/payment/"),
        ("payment-waiting", f"/admin/payments/payment/{waiting.pk}/change/"),
        ("resolve-form", f"/admin/payments/payment/{waiting.pk}/resolve/"),
        ("dashboard", "/admin/dashboard/"),
    ]:
        page.goto(f"{base}{path}")
        shots(page, name)
        assert axe_violations(page) == [], name
    context.close()
