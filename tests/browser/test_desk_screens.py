"""The desk as people use it, in Chromium against the live server, the sandbox and a real worker
and beat: a reloaded desk reopens the provider's page and the payment goes on (the caller found
through the desk's link to the sandbox keypad); a slow VCC says so while the agent waits, and a
start VCC never answers says why; the desk's screens fit 360, 400 and 768 px without the page
scrolling sideways; axe-core finds nothing on the search, order, payment and outcome screens."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from customers.models import Customer
from payments.models import Payment, PaymentFlow
from tests import builders
from tests.browser.axe import axe_violations
from tests.browser.conftest import Shots
from tests.browser.test_desk import (
    APPROVED_CARD,
    KEY_IDS,
    open_crm_caller,
    provider_frame,
    settled,
    sign_in,
    start_payment,
    submit_in_provider_page,
)
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.browser

# Long enough for a reload, a reopen and a card keyed without hurrying (the other module's
# 20 seconds show an expired page).
PAGE_LIFETIME = 120


@pytest.fixture(scope="module")
def page_lifetime_seconds() -> int:
    return PAGE_LIFETIME


LONG_REFERENCE = "INV-2026-ACME-WHOLESALE-SUBSCRIPTION-RENEWAL-000000000000123456"


def swapped(page: Page) -> None:
    """htmx has swapped what it was asked for (the provider's page polls on, so the network
    never goes quiet while it is shown)."""
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def key_the_card_from_the_desk_link(page: Page, context: BrowserContext, shots: Shots) -> None:
    """The newcomer's way: the desk's link to the sandbox keypad, the calls listed by caller,
    the card keyed on the phone."""
    with context.expect_page() as opened:
        page.click("text=play the caller on the keypad")
    keypad = opened.value
    expect(keypad.locator("main")).to_contain_text("Priya Patel, 49.99 GBP")
    keypad.click("text=All calls")
    call = keypad.locator("#live-sessions a", has_text="Priya Patel, 49.99 GBP")
    expect(call).to_have_count(1)
    shots(keypad, "keypad-calls")
    call.click()
    for key in APPROVED_CARD:
        keypad.click(f"#key-{KEY_IDS.get(key, key)}")
    expect(keypad.locator("#prompt")).to_have_text(
        "Thank you. Please hold while the agent submits the payment."
    )
    shots(keypad, "caller-keypad")
    keypad.close()


@pytest.mark.parametrize("width", [360, 768, 1366])
def test_a_reloaded_desk_reopens_the_payment_page(
    desk: str, context: BrowserContext, shots: Shots, width: int
) -> None:
    page = sign_in(context, desk, shots)
    page.set_viewport_size({"width": width, "height": 900})
    open_crm_caller(page, shots)
    payment = start_payment(page, shots)
    provider_frame(page, payment)
    page.reload()
    expect(page.locator("#payment-status")).to_contain_text("Waiting for the caller")
    expect(page.locator("iframe")).to_have_count(0)
    reopen = page.locator("button:has-text('Reopen the payment page')")
    swapped(page)
    shots(page, "reloaded")
    for _ in range(12):  # keyboard only: Tab along the page to the button
        page.keyboard.press("Tab")
        if reopen.evaluate("button => button === document.activeElement"):
            break
    expect(reopen).to_be_focused()
    page.keyboard.press("Enter")
    provider = provider_frame(page, payment)
    expect(page.locator("#payment-title")).to_be_focused()
    swapped(page)
    shots(page, "reopened")
    key_the_card_from_the_desk_link(page, context, shots)
    submit_in_provider_page(page, provider, shots)
    expect(page.locator("#payment-status .badge")).to_have_text("Approved", timeout=20_000)
    expect(page.locator("#review .order-status")).to_have_text("Paid · 49.99 GBP")
    settled(page)
    shots(page, "approved")
    assert fits(page)


def test_a_closed_popup_is_reopened(desk: str, context: BrowserContext, shots: Shots) -> None:
    PaymentFlow.objects.update(display_mode=PaymentFlow.DisplayMode.POPUP)
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    with page.expect_popup() as opened:
        payment = start_payment(page, shots)
    opened.value.close()
    expect(page.locator("[data-popup-open]")).to_have_text(
        "The payment page's window was closed. The outcome still arrives here."
    )
    reopen = page.locator("button:has-text('Reopen the payment page')")
    expect(reopen).to_be_visible()
    swapped(page)
    shots(page, "popup-closed")
    with page.expect_popup() as reopened:
        reopen.click()
    popup = reopened.value
    expect(popup.locator("h1")).to_have_text("Secure card payment")
    shots(popup, "popup-reopened")
    assert Payment.objects.get().pk == payment.pk  # the same attempt, no new session


def test_a_slow_vcc_says_so_and_one_that_never_answers_says_why(
    desk: str, sandbox: Sandbox, context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(context, desk, shots)
    open_crm_caller(page, shots)
    sandbox.faults(path="create", latency_ms=4500, count=1)
    page.click("button:has-text('Start payment')")
    opening = page.locator("#payment .opening")
    expect(opening).to_contain_text("Opening the secure payment page…")
    expect(opening).to_contain_text("VCC is slow to answer; the desk waits up to about 14 s.")
    shots(page, "opening-slowly")
    expect(page.locator("#payment-status")).to_contain_text(
        "Waiting for the caller", timeout=20_000
    )
    expect(opening).to_have_count(0)
    first = Payment.objects.get()
    provider_frame(page, first)

    # The agent moves on from this attempt, and VCC then never answers the next start.
    page.click("button:has-text('Abandon this attempt')")
    expect(page.locator("#payment-status .badge")).to_have_text("Abandoned")
    expect(page.locator("#payment-status")).to_contain_text("You abandoned this attempt")
    expect(page.locator("iframe")).to_have_count(0)
    settled(page)
    shots(page, "abandoned")
    sandbox.faults(path="create", timeout=16, count=1)
    page.click("button:has-text('Retry payment')")
    expect(opening).to_contain_text("Opening the secure payment page…")
    expect(page.locator("#payment-status .badge")).to_have_text("Failed to start", timeout=30_000)
    expect(page.locator("#payment-status")).to_contain_text(
        "VCC did not answer in time: the payment session may or may not have been created."
    )
    settled(page)
    shots(page, "vcc-did-not-answer")


def fits(page: Page) -> bool:
    return bool(page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"))


def each_width(page: Page, shots: Shots, screen: str) -> None:
    """The screen at 360, 400 and 768 px: no sideways scrolling of the page."""
    for width in (360, 400, 768):
        page.set_viewport_size({"width": width, "height": 800})
        swapped(page)
        shots(page, f"{screen}-{width}")
        assert fits(page), f"{screen} overflows at {width} px"


def test_the_desk_fits_narrow_screens(desk: str, context: BrowserContext, shots: Shots) -> None:
    page = sign_in(context, desk, shots)
    page.fill("#q", "Patel")
    expect(page.locator("#results .match")).to_have_count(1)
    each_width(page, shots, "search")
    page.keyboard.press("Enter")
    expect(page.locator("#caller-name")).to_contain_text("Priya Patel")
    builders.order(customer=Customer.objects.get(), reference=LONG_REFERENCE, amount=1234567)
    page.reload()
    expect(page.locator("td", has_text=LONG_REFERENCE)).to_be_visible()
    each_width(page, shots, "caller")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator("tr", has_text="INV-5001").locator("text=Take payment").click()
    expect(page.locator("#review")).to_contain_text("49.99 GBP")
    each_width(page, shots, "order")
    payment = start_payment(page, shots)
    provider_frame(page, payment)
    # At 768 px the finder folds to its search box: the provider's page gets the room.
    page.set_viewport_size({"width": 768, "height": 800})
    expect(page.locator("#results")).to_be_hidden()
    frame_box = page.locator("iframe").bounding_box()
    assert frame_box is not None and frame_box["width"] > 600
    each_width(page, shots, "payment")


@pytest.fixture
def axe_context(browser: Browser) -> Iterator[BrowserContext]:
    """A context that may inject axe-core into the desk's pages despite their CSP."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_axe_finds_nothing_on_the_desk_screens(
    desk: str, sandbox: Sandbox, axe_context: BrowserContext, shots: Shots
) -> None:
    page = sign_in(axe_context, desk, shots)
    page.fill("#q", "Patel")
    expect(page.locator("#results .match")).to_have_count(1)
    settled(page)
    assert axe_violations(page) == []
    open_crm_caller(page, shots)
    assert axe_violations(page) == []  # the order's review
    page.click(".crumbs a")
    expect(page.locator("#orders-title")).to_be_visible()
    settled(page)
    assert axe_violations(page) == []  # the caller and their orders
    page.set_viewport_size({"width": 360, "height": 800})  # the orders stacked
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("text=Take payment")
    expect(page.locator("#review")).to_contain_text("49.99 GBP")
    settled(page)
    payment = start_payment(page, shots)
    provider_frame(page, payment)
    swapped(page)
    shots(page, "in-progress")
    assert axe_violations(page) == []
    page.reload()
    expect(page.locator("button:has-text('Reopen the payment page')")).to_be_visible()
    swapped(page)
    shots(page, "reloaded")
    assert axe_violations(page) == []
    sandbox.complete(payment.session_guid, "approved")
    expect(page.locator("#payment-status .badge")).to_have_text("Approved", timeout=20_000)
    settled(page)
    shots(page, "outcome")
    assert axe_violations(page) == []
