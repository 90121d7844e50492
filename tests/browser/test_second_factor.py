"""The second factor in a real browser (Chromium through Playwright) against the live server:
a supervisor's first sign-in sets up an authenticator from the QR code's page (the code
computed here from the device's key, as the app would), keeps the recovery codes and reaches
admin; the next sign-in asks for the app's code; a recovery code signs in once."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests import builders
from tests.browser.conftest import Shots

pytestmark = pytest.mark.browser


@pytest.fixture
def base(live_server: LiveServer, settings: Any) -> str:
    settings.MFA_REQUIRED_FOR_STAFF = True
    # django-otp pauses after a wrong code (a second, doubling); the test does not wait it out.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    builders.staff_user("supervisor", builders.SUPERVISORS)
    return live_server.url


def password_sign_in(browser: Browser, base: str, shots: Shots, step: str) -> Page:
    """A new browser session signing in with the supervisor's password."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    shots(page, step)
    return page


def submit_code(page: Page, code: str) -> None:
    page.fill("#id_code", code)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def in_admin(base: str) -> Callable[[str], bool]:
    return lambda url: url == f"{base}/admin/"


def test_enrol_then_sign_in_with_the_app_then_with_a_recovery_code(
    browser: Browser, base: str, shots: Shots
) -> None:
    supervisor = User.objects.get(username="supervisor")

    page = password_sign_in(browser, base, shots, "enrol")
    assert page.url.startswith(f"{base}/login/enrol/")
    expect(page.locator("img.qr")).to_be_visible()
    secret = page.locator("#secret").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ?)+", secret)
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    submit_code(page, "000000" if builders.totp_code(device) != "000000" else "111111")
    expect(page.locator(".error")).to_contain_text("That code is wrong or expired")
    shots(page, "enrol-wrong-code")
    submit_code(page, builders.totp_code(device))
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    shots(page, "recovery-codes")
    page.click("text=I have kept them: continue")
    page.wait_for_url(in_admin(base))
    expect(page.locator("#site-name, h1").first).to_be_visible()
    shots(page, "admin")
    page.context.close()

    page = password_sign_in(browser, base, shots, "code")
    assert page.url.startswith(f"{base}/login/code/")
    # The code of the next time step: the current one was used to enrol and is refused.
    submit_code(page, builders.totp_code(device, steps_ahead=1))
    page.wait_for_url(in_admin(base))
    shots(page, "admin-again")
    page.context.close()

    page = password_sign_in(browser, base, shots, "code-for-recovery")
    submit_code(page, codes[0])
    page.wait_for_url(in_admin(base))
    shots(page, "admin-by-recovery-code")
    page.context.close()

    page = password_sign_in(browser, base, shots, "recovery-code-again")
    submit_code(page, codes[0])
    expect(page.locator(".error")).to_contain_text("That code is wrong, expired or used already")
    assert page.url.startswith(f"{base}/login/code/")
    shots(page, "recovery-code-refused")
    page.context.close()


def test_a_locked_sign_in_is_shown_and_an_administrator_unlocks_it(
    browser: Browser, live_server: LiveServer, settings: Any, shots: Shots
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    base = live_server.url
    builders.agent_user("agent1", vcc_agent_id="1001")
    builders.staff_user("administrator", builders.ADMINISTRATORS)
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    for _ in range(2):
        page.goto(f"{base}/login/")
        page.fill("#id_username", "agent1")
        page.fill("#id_password", "not the password")
        page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Signing in is locked")
    shots(page, "locked")

    page.goto(f"{base}/login/")
    page.fill("#id_username", "administrator")
    page.fill("#id_password", builders.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    page.goto(f"{base}/admin/axes/accessattempt/?locked=yes")
    expect(page.locator("#result_list")).to_contain_text("agent1")
    shots(page, "locked-sign-ins")
    page.locator("#result_list input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "unlock")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 sign-in(s) unlocked.")
    shots(page, "unlocked")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "agent1")
    page.fill("#id_password", builders.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/desk/")
    context.close()
