"""The sandbox's pages in a real browser (Debian's Chromium through Playwright): the provider's
agent page framed the way the desk frames it (a hidden form posting the agent tokens into a
named iframe), the caller keypad in another tab, masked digits on the agent page within a
second of each key, the agent's Submit, and the caller hanging up."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Frame, Page, expect, sync_playwright

from payments.vcc.client import client_for
from payments.vcc.types import NewSession
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
# What the desk does with a new session: post the tokens into a named frame.
FRAME_THE_PAGE = """([url, access, refresh]) => {
  const frame = document.createElement("iframe");
  frame.name = "provider";
  frame.width = 600; frame.height = 500;
  document.body.appendChild(frame);
  const form = document.createElement("form");
  form.method = "post"; form.action = url; form.target = "provider";
  for (const [name, value] of [["X-BEARER-TOKEN", access], ["X-REFRESH-TOKEN", refresh]]) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


@pytest.fixture
def browser_pages(sandbox: Sandbox) -> Iterator[tuple[Page, Page]]:
    """Two tabs: the agent's (framing the provider page) and the caller's phone. Function
    scoped and set up after `sandbox`, so Playwright has stopped before the database is
    emptied."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        yield context.new_page(), context.new_page()
        browser.close()


@pytest.fixture
def new_session(sandbox: Sandbox) -> NewSession:
    return client_for("builtin").create_session(
        agent_id="1001", payment_data={"Amount": "12.40", "Currency": "GBP"}
    )


def framed_agent_page(agent: Page, sandbox: Sandbox, session: NewSession) -> Frame:
    # Any page of the sandbox's origin stands in for the desk (same origin, as in development).
    agent.goto(sandbox.url + "/keypad/")
    agent.evaluate(
        FRAME_THE_PAGE,
        [session.provider_url, session.agent_access_token, session.agent_refresh_token],
    )
    frame = agent.frame_locator("iframe[name=provider]")
    expect(frame.locator("#submit-payment")).to_be_disabled()
    found = agent.frame(name="provider")
    assert found is not None
    return found


def press(caller: Page, keys: str) -> None:
    """Press keys on the caller's phone; it sends them in order, without reloading."""
    names = {"*": "star", "#": "hash"}
    for key in keys:
        caller.click(f"#key-{names.get(key, key)}")


def test_keyed_digits_appear_masked_and_the_agent_submits(
    sandbox: Sandbox, browser_pages: tuple[Page, Page], new_session: NewSession
) -> None:
    agent, caller = browser_pages
    frame = framed_agent_page(agent, sandbox, new_session)
    caller.goto(f"{sandbox.url}/keypad/{new_session.session_guid}/")

    press(caller, "4111")
    expect(caller.locator("#keyed-card_number")).to_have_text("••••")
    expect(frame.locator("#masked-card_number")).to_have_text("••••", timeout=1000)
    press(caller, "111111111111#")
    expect(caller.locator("#prompt")).to_contain_text("expiry date")
    expect(frame.locator("#masked-card_number")).to_have_text("•" * 16, timeout=1000)
    expect(frame.locator("#step-expiry")).to_have_class("step current", timeout=1000)
    press(caller, "1239#123#")
    expect(caller.locator("#prompt")).to_contain_text("agent submits")
    expect(frame.locator("#masked-security_code")).to_have_text("•••", timeout=1000)
    expect(frame.locator("#submit-payment")).to_be_enabled(timeout=1000)

    frame.locator("#submit-payment").click()
    expect(frame.locator("#outcome")).to_have_text("Payment approved.")
    assert "4111" not in frame.content()
    result = client_for("builtin").get_session(new_session.session_guid).result
    assert result is not None
    assert result.decision == "ACCEPT"


def test_the_caller_hangs_up(
    sandbox: Sandbox, browser_pages: tuple[Page, Page], new_session: NewSession
) -> None:
    agent, caller = browser_pages
    frame = framed_agent_page(agent, sandbox, new_session)
    caller.goto(f"{sandbox.url}/keypad/")
    caller.click(f"#call-{new_session.session_guid}")
    press(caller, "41")
    expect(caller.locator("#keyed-card_number")).to_have_text("••")
    caller.click("#hang-up")
    expect(caller.locator("#call-ended")).to_be_visible()
    expect(frame.locator("#outcome")).to_have_text(
        "The call ended before the payment was submitted.", timeout=1000
    )
    expect(frame.locator("#masked-card_number")).to_have_text("")
