"""The screen pop and pay by link in a real browser, with the built-in sandbox and a real worker
and beat. The pop (/desk/call?ani=…&call=…): one match opens the caller, several are listed to
choose from, none opens manual entry with the number filled in; a payment taken after the pop
carries the call's interaction id and VCC's callGuid, which a supervisor sees in admin. A link:
a wrong number refused, the link sent, the caller pays from the sandbox's SMS inbox, and the
desk shows the order paid without a reload; a link VCC ends unused shows expired without a
reload, is re-sent, and the new message's link pays the order."""

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from payments.models import Payment
from tests import builders
from tests.browser.conftest import Process, Shots
from tests.browser.test_desk import (
    APPROVED_CARD,
    expect_outcome,
    pay,
    settled,
    sign_in,
    start_payment,
)
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(sandbox: Sandbox, celery_worker: Process, live_server: LiveServer, settings: Any) -> str:
    """An agent, a supervisor, the default flow, and callers in our own customer list: Priya
    with an open order, and two Shahs sharing one landline."""
    builders.agent_user("agent1", vcc_agent_id="1001")
    builders.staff_user("supervisor", builders.SUPERVISORS)
    builders.flow(name="Sandbox cards (staging)", allows_links=True)
    priya = builders.customer(phone="+441632960961")
    builders.order(customer=priya, reference="INV-7001", amount="25.00")
    ravi = builders.customer(first_name="Ravi", last_name="Kumar", phone="+447400123456")
    builders.order(customer=ravi, reference="INV-8001", amount="60.00")
    for first in ("Anil", "Meera"):
        builders.customer(
            first_name=first, last_name="Shah", email=f"{first}@example.com", phone="+441632960970"
        )
    settings.CRM_ADAPTER = "builtin"
    return live_server.url


def supervisor_page(context: BrowserContext, base: str) -> tuple[BrowserContext, Page]:
    """The supervisor signed in, in a browser context of their own."""
    assert context.browser is not None
    admin = context.browser.new_context(viewport={"width": 1400, "height": 900})
    page = admin.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return admin, page


def test_one_several_and_no_match_and_the_call_carried_to_admin(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(context, desk, shots)

    page.goto(f"{desk}/desk/call?ani=%2B44%201632%20960970&call=INT-2")
    expect(page.locator(".notice")).to_contain_text("2 callers have the number +441632960970")
    expect(page.locator("#results .match")).to_have_count(2)
    shots(page, "several-matches")

    page.goto(f"{desk}/desk/call?ani=07700900999&call=INT-3")
    expect(page.locator(".notice")).to_contain_text("No caller has the number +447700900999")
    expect(page.locator("input[name=phone]")).to_have_value("+447700900999")
    shots(page, "no-match")

    page.goto(f"{desk}/desk/call?ani=anonymous&call=INT-4")
    expect(page.locator(".notice")).to_contain_text("withheld or cannot be read")
    shots(page, "withheld")

    page.goto(f"{desk}/desk/call?ani=01632%20960961&call=INT-7731")
    expect(page.locator("#caller-name")).to_contain_text("Priya Patel")
    shots(page, "one-match")
    page.evaluate("() => { window.deskPageId = 'the same page'; }")
    page.click("text=Take payment")
    expect(page.locator("#review")).to_contain_text("25.00 GBP")
    settled(page)
    payment = start_payment(page, shots)
    pay(context, desk, payment, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved")
    payment.refresh_from_db()
    assert payment.state == Payment.State.APPROVED
    assert payment.interaction_id == "INT-7731" and payment.call_guid

    admin, supervisor = supervisor_page(context, desk)
    supervisor.goto(f"{desk}/admin/payments/payment/?q=INT-7731")
    supervisor.click("text=INV-7001")
    expect(supervisor.locator(".field-interaction_id")).to_contain_text("INT-7731")
    expect(supervisor.locator(".field-call_guid")).to_contain_text(payment.call_guid)
    shots(supervisor, "admin-payment")
    admin.close()


def test_a_link_sent_and_paid_from_the_sms_inbox_without_a_reload(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(context, desk, shots)
    page.goto(f"{desk}/desk/call?ani=%2B447400123456&call=INT-8")
    expect(page.locator("#caller-name")).to_contain_text("Ravi Kumar")
    page.evaluate("() => { window.deskPageId = 'the same page'; }")
    page.click("text=Take payment")
    expect(page.locator("#review")).to_contain_text("60.00 GBP")
    expect(page.locator("#link-mobile")).to_have_value("+44 7400 123456")
    settled(page)
    shots(page, "review-with-link")

    page.fill("#link-mobile", "+44 20 7123 4567")
    page.click("button:has-text('Send a payment link by SMS')")
    expect(page.locator("#link-mobile-error")).to_contain_text("is not a mobile number")
    settled(page)
    shots(page, "not-a-mobile")
    assert not Payment.objects.exists()

    page.fill("#link-mobile", "07400 123456")
    page.click("button:has-text('Send a payment link by SMS')")
    status = page.locator("#payment-status")
    expect(status).to_contain_text("Link sent to +44 7400 123456 at")
    expect(status).to_contain_text("You can move on")
    settled(page)
    shots(page, "link-sent")
    payment = Payment.objects.get()
    assert payment.kind == Payment.Kind.LINK and payment.interaction_id == "INT-8"

    phone = context.new_page()
    phone.goto(f"{desk}/sandbox/sms/")
    expect(phone.locator("h2")).to_have_text("+447400123456")
    shots(phone, "sms-inbox")
    phone.click(f"#link-{payment.session_guid}")
    expect(phone.locator("#amount")).to_have_text("60.00 GBP")
    phone.fill("#card_number", "4111 1111 1111 1111")
    phone.fill("#expiry", "1239")
    phone.fill("#security_code", "123")
    shots(phone, "hosted-form")
    phone.click("#pay")
    expect(phone.locator("#outcome")).to_have_text("Payment approved. Thank you.")
    shots(phone, "paid-on-the-phone")
    phone.close()

    expect_outcome(page, "Approved", shots, "approved")
    expect(page.locator("#review .order-status")).to_have_text("Paid · 60.00 GBP")

    admin, supervisor = supervisor_page(context, desk)
    supervisor.goto(f"{desk}/admin/payments/payment/")
    supervisor.click("#changelist-filter a:has-text('Payment link (SMS)')")
    expect(supervisor.locator("#result_list tbody tr")).to_have_count(1)
    expect(supervisor.locator("#result_list")).to_contain_text("Link to +4474••••••56")
    expect(supervisor.locator("#result_list")).not_to_contain_text("+447400123456")
    shots(supervisor, "admin-links")
    admin.close()


def test_a_link_that_expires_is_re_sent_and_the_new_one_paid_without_a_reload(
    desk: str, context: BrowserContext, shots: Shots, sandbox: Sandbox
) -> None:
    page = sign_in(context, desk, shots)
    page.goto(f"{desk}/desk/call?ani=%2B447400123456&call=INT-9")
    expect(page.locator("#caller-name")).to_contain_text("Ravi Kumar")
    page.evaluate("() => { window.deskPageId = 'the same page'; }")
    page.click("text=Take payment")
    page.click("button:has-text('Send a payment link by SMS')")
    status = page.locator("#payment-status")
    expect(status).to_contain_text("Link sent to +44 7400 123456 at")
    first = Payment.objects.get()
    assert first.session_guid

    sandbox.end_link(first.session_guid)  # VCC ends the link unused
    expect_outcome(page, "Expired", shots, "link-expired")
    expect(status).to_contain_text("The payment link ended before the caller paid.")
    page.click("button:has-text('Send a new link')")
    expect(status).to_contain_text("Link sent to +44 7400 123456 at")
    settled(page)
    shots(page, "link-re-sent")
    second = Payment.objects.exclude(pk=first.pk).get()
    assert second.session_guid and second.session_guid != first.session_guid

    phone = context.new_page()
    phone.goto(f"{desk}/sandbox/sms/")
    messages = phone.locator("li.message")
    expect(messages).to_have_count(2)
    expect(messages.first).to_contain_text("open until")  # newest first
    expect(messages.nth(1)).to_contain_text("expired")
    shots(phone, "sms-inbox-two-messages")
    phone.click(f"#link-{second.session_guid}")
    phone.fill("#card_number", "4111 1111 1111 1111")
    phone.fill("#expiry", "1239")
    phone.fill("#security_code", "123")
    phone.click("#pay")
    expect(phone.locator("#outcome")).to_have_text("Payment approved. Thank you.")
    phone.goto(f"{desk}/sandbox/pay/{first.session_guid}/")
    expect(phone.locator("#outcome")).to_have_text(
        "This payment link has expired. Ask for a new one."
    )
    shots(phone, "old-link-expired")
    phone.close()

    expect_outcome(page, "Approved", shots, "new-link-paid")
    expect(page.locator("#review .order-status")).to_have_text("Paid · 60.00 GBP")
