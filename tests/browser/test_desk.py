"""The agent desk in a real browser (Chromium through Playwright) against the live server, the
built-in sandbox and a real Celery worker and beat: an agent signs in, finds the caller in the
CRM, starts a payment in the iframe, the caller keypad keys a test card, the agent submits in
the provider's page, and the desk shows the outcome and the order paid without a reload; the
same with a declined card and a retry; the popup mode (and a popup the browser blocks); manual
entry with a validation error corrected; an expired page restarted."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, FrameLocator, Page, Response, expect

from payments.models import Order, Payment, PaymentFlow
from payments.vcc.accounts import BUILTIN_CLIENT_SECRET
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.browser.conftest import PAGE_LIFETIME_SECONDS, Shots

pytestmark = pytest.mark.browser

APPROVED_CARD = "4111111111111111#1239#123#"
DECLINED_CARD = "4000000000000002#1239#123#"
KEY_IDS = {"*": "star", "#": "hash"}
# How long the desk may take to show what the backend learnt (a webhook, or the next poll).
OUTCOME_TIMEOUT = 20_000


def sign_in(context: BrowserContext, base: str, shots: Shots) -> Page:
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "agent1")
    page.fill("#id_password", builders.PASSWORD)
    shots(page, "sign-in")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/desk/")
    expect(page.locator("#q")).to_be_focused()
    shots(page, "desk")
    # Set once: still there at the end means the page was never reloaded.
    page.evaluate("() => { window.deskPageId = 'the same page'; }")
    return page


def settled(page: Page) -> None:
    """Wait until htmx has swapped and processed what it was asked for."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def open_crm_caller(page: Page, shots: Shots) -> None:
    page.fill("#q", "Patel")
    expect(page.locator("#results .match")).to_have_count(1)
    settled(page)
    shots(page, "crm-search")
    page.keyboard.press("Enter")
    expect(page.locator("#caller-name")).to_contain_text("Priya Patel")
    expect(page.locator("#caller-name")).to_contain_text("CRM-5001")
    settled(page)
    shots(page, "caller")
    page.click("text=Take payment")
    expect(page.locator("#review")).to_contain_text("49.99 GBP")
    settled(page)
    shots(page, "review")


def start_payment(page: Page, shots: Shots) -> Payment:
    page.click("button:has-text('Start payment')")
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    payment = Payment.objects.order_by("-pk").first()
    assert payment is not None and payment.session_guid
    return payment


def provider_frame(page: Page, payment: Payment) -> FrameLocator:
    frame = page.frame_locator(f"iframe[name='vcc-provider-{payment.pk}']")
    expect(frame.locator("h1")).to_have_text("Secure card payment")
    return frame


def caller_keys(
    context: BrowserContext, base: str, payment: Payment, keys: str, shots: Shots
) -> None:
    """The caller keys the card on their phone: the sandbox's keypad page."""
    keypad = context.new_page()
    keypad.goto(f"{base}/sandbox/keypad/{payment.session_guid}/")
    for key in keys:  # the phone sends each key in order
        keypad.click(f"#key-{KEY_IDS.get(key, key)}")
    # Every key has been sent once the phone says the card is complete.
    expect(keypad.locator("#prompt")).to_have_text(
        "Thank you. Please hold while the agent submits the payment."
    )
    shots(keypad, "caller-keypad")
    keypad.close()


def submit_in_provider_page(screen: Page, provider: FrameLocator | Page, shots: Shots) -> None:
    button = provider.locator("#submit-payment")
    expect(button).to_be_enabled(timeout=10_000)
    expect(provider.locator("#masked-card_number")).to_contain_text("•")
    shots(screen, "masked-digits")
    button.click()


def pay(
    context: BrowserContext,
    base: str,
    payment: Payment,
    keys: str,
    shots: Shots,
    *,
    on: Page,
    provider: FrameLocator | Page | None = None,
) -> None:
    """The caller keys `keys` on the phone, then the agent submits in the provider's page: the
    iframe of the desk `on`, or the popup window `provider`."""
    provider = provider or provider_frame(on, payment)
    caller_keys(context, base, payment, keys, shots)
    submit_in_provider_page(on, provider, shots)


def expect_outcome(page: Page, label: str, shots: Shots, step: str) -> None:
    expect(page.locator("#payment-status .badge")).to_have_text(label, timeout=OUTCOME_TIMEOUT)
    settled(page)
    shots(page, step)
    assert page.evaluate("window.deskPageId") == "the same page"


def test_approved_in_the_iframe_without_a_reload(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    payment = start_payment(page, shots)
    provider_frame(page, payment)
    shots(page, "provider-page")
    assert page.locator("form[data-provider-form]").count() == 0  # the tokens left the page
    pay(context, desk, payment, APPROVED_CARD, shots, on=page)
    expect(page.locator("#payment-status .badge")).to_have_text("Approved")
    shown_at = timezone.now()
    expect_outcome(page, "Approved", shots, "approved")
    expect(page.locator("#review .order-status")).to_have_text("Paid · 49.99 GBP")
    expect(page.locator("iframe")).to_have_count(0)
    payment.refresh_from_db()
    assert payment.state == Payment.State.APPROVED
    # On screen within about a second of the backend knowing (the panel reads every second).
    lag = (shown_at - payment.finished_at).total_seconds()
    print(f"approved on screen {lag:.2f} s after the backend knew")
    assert lag < 2.5
    assert Order.objects.get(reference="INV-5001").status == Order.Status.PAID
    page.click("text=Take another payment")
    expect(page.locator("#new-order-title")).to_have_text("New payment for Priya")
    expect(page.locator("#caller-name")).to_contain_text("Priya Patel")
    shots(page, "take-another-payment")


def test_declined_then_retried(desk: str, context: BrowserContext, shots: Shots) -> None:
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    first = start_payment(page, shots)
    pay(context, desk, first, DECLINED_CARD, shots, on=page)
    expect_outcome(page, "Declined", shots, "declined")
    expect(page.locator("#payment-status")).to_contain_text("reason code 203")
    expect(page.locator("#review .order-status")).to_have_text("Open")

    page.click("button:has-text('Retry payment')")
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    second = Payment.objects.exclude(pk=first.pk).get()
    provider_frame(page, second)
    shots(page, "retry")
    pay(context, desk, second, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved-on-retry")
    expect(page.locator("#review .order-status")).to_have_text("Paid · 49.99 GBP")


def test_declined_then_retried_on_another_flow(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    second_flow = builders.flow(name="Second card flow", is_default=False)
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    first = start_payment(page, shots)
    pay(context, desk, first, DECLINED_CARD, shots, on=page)
    expect_outcome(page, "Declined", shots, "declined")

    page.click("summary:has-text('Retry on another flow')")
    choice = page.locator("#payment-status .flow-choice")
    expect(choice.get_by_label("Second card flow")).to_be_visible()
    expect(choice.locator(f"input[value='{first.flow_id}']")).to_be_checked()
    shots(page, "flow-choice")
    choice.get_by_label("Second card flow").check()
    choice.locator("button:has-text('Retry on this flow')").click()
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    expect(page.locator("#payment-title")).to_contain_text("Second card flow")
    second = Payment.objects.exclude(pk=first.pk).get()
    assert second.flow == second_flow
    pay(context, desk, second, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved-on-another-flow")


def test_popup_mode_and_a_popup_the_browser_blocks(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    PaymentFlow.objects.update(display_mode=PaymentFlow.DisplayMode.POPUP)
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    with page.expect_popup() as opened:
        first = start_payment(page, shots)
    popup = opened.value
    expect(popup.locator("h1")).to_have_text("Secure card payment")
    expect(page.locator("[data-popup-open]")).to_be_visible()
    shots(page, "popup-opened")
    pay(context, desk, first, DECLINED_CARD, shots, on=popup, provider=popup)
    expect_outcome(page, "Declined", shots, "declined")
    popup.close()

    # The browser blocks the next popup: the desk notices and offers it as a button.
    page.evaluate("() => { window.realOpen = window.open; window.open = () => null; }")
    page.click("button:has-text('Retry payment')")
    expect(page.locator("[data-popup-blocked]")).to_be_visible()
    shots(page, "popup-blocked")
    page.evaluate("() => { window.open = window.realOpen; }")
    second = Payment.objects.exclude(pk=first.pk).get()
    with page.expect_popup() as opened:
        page.click("button:has-text('Open the payment page')")
    popup = opened.value
    expect(popup.locator("h1")).to_have_text("Secure card payment")
    expect(page.locator("[data-popup-blocked]")).to_be_hidden()
    pay(context, desk, second, APPROVED_CARD, shots, on=popup, provider=popup)
    expect_outcome(page, "Approved", shots, "approved")


def test_manual_entry_with_a_validation_error_corrected(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(context, desk, shots)
    page.click("text=Enter the caller by hand")
    expect(page.locator("h1")).to_have_text("Enter the caller by hand")
    page.fill("#id_first_name", "John")
    page.fill("#id_last_name", "Smith")
    page.fill("#id_email", "john.smith@example.com")
    page.fill("#id_line1", "500 Market Street")
    page.fill("#id_city", "San Francisco")
    page.fill("#id_postcode", "941")
    page.select_option("#id_country", "US")
    expect(page.locator("label[for=id_state]")).to_contain_text("State")
    expect(page.locator("#id_postcode_helptext")).to_have_text("For example 94105 or 94105-1234.")
    expect(page.locator("#id_postcode")).to_have_value("941")
    page.fill("#id_amount", "120.00")
    page.select_option("#id_currency", "USD")
    page.fill("#id_description", "Replacement router")
    settled(page)
    shots(page, "typed-in")
    page.click("text=Continue to review")
    expect(page.locator("#id_state_error")).to_have_text("State is required for United States.")
    expect(page.locator("#id_postcode_error")).to_contain_text("not a valid postcode")
    expect(page.locator("#id_first_name")).to_have_value("John")
    expect(page.locator("#id_description")).to_have_value("Replacement router")
    settled(page)
    shots(page, "errors-beside-fields")
    page.fill("#id_state", "CA")
    page.fill("#id_postcode", "94105")
    page.click("text=Continue to review")
    expect(page.locator("#review")).to_contain_text(
        "500 Market Street, San Francisco, CA, 94105, US"
    )
    expect(page.locator("#review")).to_contain_text("120.00 USD")
    settled(page)
    shots(page, "review")
    payment = start_payment(page, shots)
    pay(context, desk, payment, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved")


def test_an_expired_page_is_restarted(desk: str, context: BrowserContext, shots: Shots) -> None:
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    first = start_payment(page, shots)
    frame = provider_frame(page, first)
    shots(page, "provider-page")
    # Nobody keys anything: the provider page times out, and the backend's poll says so.
    expect(frame.locator("#outcome")).to_have_text(
        "This payment page has expired.", timeout=(PAGE_LIFETIME_SECONDS + 10) * 1000
    )
    shots(page, "provider-page-expired")
    expect_outcome(page, "Expired", shots, "expired")
    page.click("button:has-text('Restart payment')")
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    second = Payment.objects.exclude(pk=first.pk).get()
    pay(context, desk, second, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved-after-restart")


def test_nothing_sensitive_reaches_the_desk_page(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    """Every response the desk page itself receives through a whole payment: no card number,
    no VCC client secret; the provider's tokens in the start response only."""
    responses: list[Response] = []
    page = sign_in(context, desk, shots)
    page.on("response", lambda response: responses.append(response))
    open_crm_caller(page, shots)
    payment = start_payment(page, shots)
    pay(context, desk, payment, APPROVED_CARD, shots, on=page)
    expect_outcome(page, "Approved", shots, "approved")
    ours = [
        (r.url, r.text())
        for r in responses
        if r.frame == page.main_frame and "/sandbox/" not in r.url and r.status != 204
    ]
    assert any("/status/" in url for url, _ in ours)
    token = SandboxSession.objects.get(guid=payment.session_guid).agent_access_token
    for url, body in ours:
        assert APPROVED_CARD.split("#")[0] not in body, url
        assert BUILTIN_CLIENT_SECRET not in body, url
    assert [url for url, body in ours if token in body] == [
        f"{desk}/desk/orders/{payment.order_id}/start/"
    ]


@pytest.mark.parametrize(
    "state", [Payment.State.UNKNOWN, Payment.State.DECLINED, Payment.State.APPROVED]
)
def test_take_another_payment_after_any_outcome_keeps_the_desk_working(
    desk: str, context: BrowserContext, shots: Shots, state: str
) -> None:
    """Take another payment opens the caller in the workspace, whatever the outcome (an
    unknown one keeps polling), and the desk goes on working: another caller opens."""
    caller = builders.customer(first_name="Ada", last_name="Lovelace", phone="+441632960001")
    payment = builders.payment(
        order=builders.order(customer=caller, reference="ADA-1"),
        state=state,
        message="The result could not be read in time" if state == Payment.State.UNKNOWN else "",
    )
    page = sign_in(context, desk, shots)
    page.goto(f"{desk}/desk/orders/{payment.order_id}/")
    expect(page.locator("#payment-status .badge")).to_have_text(payment.get_state_display())
    page.evaluate("() => { window.deskPageId = 'the same page'; }")
    settled(page)
    shots(page, f"{state}-outcome")
    page.click("text=Take another payment")
    expect(page.locator("#new-order-title")).to_have_text("New payment for Ada")
    expect(page).to_have_url(f"{desk}/desk/callers/{caller.pk}/")
    expect(page.locator("#workspace")).to_have_count(1)
    settled(page)
    shots(page, "take-another-payment")
    open_crm_caller(page, shots)
    assert page.evaluate("window.deskPageId") == "the same page"


def test_focus_follows_the_payment_for_a_keyboard_user(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    """Keyboard only on the desk: Start, the outcome and Retry each leave focus where the next
    step is; a validation error puts it on the first field in error."""
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    expect(page.locator("button:has-text('Start payment')")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    expect(page.locator("#payment-title")).to_be_focused()
    expect(page.locator("#payment-title")).to_have_text(re.compile("Attempt 1 of this order"))
    first = Payment.objects.get()
    pay(context, desk, first, DECLINED_CARD, shots, on=page)
    expect_outcome(page, "Declined", shots, "declined")
    expect(page.locator("button:has-text('Retry payment')")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#payment-title")).to_have_text(re.compile("Attempt 2 of this order"))
    expect(page.locator("#payment-title")).to_be_focused()
    shots(page, "retried")

    page.goto(f"{desk}/desk/callers/new/")
    page.fill("#id_first_name", "John")
    page.locator("#id_first_name").press("Enter")
    expect(page.locator("#id_last_name_error")).to_be_visible()
    expect(page.locator("#id_last_name")).to_be_focused()
    expect(page.locator("#id_first_name")).to_have_value("John")
    settled(page)
    shots(page, "first-field-in-error")


def test_no_start_while_the_details_editor_holds_edits(
    desk: str, context: BrowserContext, shots: Shots
) -> None:
    """Unsaved edits are never sent: while the editor is open there is no Start; once saved,
    Start comes back and the payment page gets the saved amount."""
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    page.click("button:has-text('Edit details')")
    expect(page.locator("#id_first_name")).to_be_focused()
    page.fill("#id_amount", "60,00")
    expect(page.locator("button:has-text('Start payment')")).to_have_count(0)
    expect(page.locator("#editing-notice")).to_have_text(
        "Save or cancel the edited details first: a payment starts with the saved details only."
    )
    settled(page)
    shots(page, "editor-open-no-start")
    page.click("button:has-text('Save details')")
    expect(page.locator("#review")).to_contain_text("60.00 GBP")
    payment = start_payment(page, shots)
    assert Order.objects.get(pk=payment.order_id).amount == 60
    shots(page, "started-with-saved-amount")
