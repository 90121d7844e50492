"""axe-core over the supervisors' pages in Chromium (1366 px): the payment list, a payment
waiting for a supervisor, the resolve form, the dashboard, the audit trail (a list and an entry)
and the customers have no violation."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from agentdesk.staff.models import AuditEntry
from tests import builders
from tests.browser.axe import axe_violations
from tests.browser.conftest import Shots
from tests.browser.test_admin import admin_page

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
    base = live_server.url
    # axe-core is injected into the page: allowed past our CSP in this context only.
    context, page = admin_page(browser, base, "supervisor", bypass_csp=True)
    entry = AuditEntry.objects.order_by("-pk").first()  # the supervisor's sign-in
    assert entry is not None
    for name, path in [
        ("payment-list", "/admin/payments/payment/"),
        ("payment-waiting", f"/admin/payments/payment/{waiting.pk}/change/"),
        ("resolve-form", f"/admin/payments/payment/{waiting.pk}/resolve/"),
        ("dashboard", "/admin/dashboard/"),
        ("audit-trail", "/admin/agentdesk/auditentry/"),  # times with their zone
        ("audit-entry", f"/admin/agentdesk/auditentry/{entry.pk}/change/"),
        ("customers", "/admin/customers/customer/"),
    ]:
        page.goto(f"{base}{path}")
        shots(page, name)
        assert axe_violations(page) == [], name
    context.close()
