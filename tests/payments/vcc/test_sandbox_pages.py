"""The sandbox's pages over real HTTP: the provider's agent page
(`/sandbox/provider/view/<uuid>/framed`, its `state` poll and `submit`) and the caller keypad
(`/sandbox/keypad/`, `/sandbox/keypad/<guid>/`, its `press` and `hang-up`): framing headers,
masked digits, the keying steps with their Luhn and expiry checks, the test cards' outcomes, a
caller who hangs up, and card digits dropped once the session is over."""

import re
from typing import Any

import pytest
import requests
from django.test import Client

from payments.vcc.client import VccClient, client_for
from payments.vcc.types import NewSession
from tests.sandbox_fixtures import Sandbox

APPROVED_CARD = "4111111111111111"
GOOD_CARD_KEYS = f"{APPROVED_CARD}#1239#123#"


@pytest.fixture
def vcc(sandbox: Sandbox) -> VccClient:
    return client_for("builtin")


@pytest.fixture
def session(vcc: VccClient) -> NewSession:
    return vcc.create_session(
        agent_id="1001",
        payment_data={"Amount": "12.40", "Currency": "GBP", "FirstName": "Priya"},
        account_configuration_id=1,
    )


def open_page(session: NewSession, **tokens: str) -> requests.Response:
    """What the desk's hidden, auto-submitted form does."""
    form = tokens or {
        "X-BEARER-TOKEN": session.agent_access_token,
        "X-REFRESH-TOKEN": session.agent_refresh_token,
    }
    return requests.post(session.provider_url, data=form, timeout=5)


def page_state(session: NewSession) -> dict[str, Any]:
    url = session.provider_url.replace("/framed", "/state")
    response = requests.get(url, headers={"X-BEARER-TOKEN": session.agent_access_token}, timeout=5)
    assert response.status_code == 200
    return response.json()


def submit(session: NewSession) -> requests.Response:
    return requests.post(
        session.provider_url.replace("/framed", "/submit"),
        data={"X-BEARER-TOKEN": session.agent_access_token},
        timeout=5,
    )


# --- The agent page -----------------------------------------------------------------------


def test_agent_page_opens_with_the_posted_tokens_and_may_be_framed_by_us(
    session: NewSession,
) -> None:
    response = open_page(session)
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert 'id="submit-payment"' in response.text
    assert "12.40 GBP" in response.text


def test_agent_page_accepts_the_tokens_as_headers(session: NewSession) -> None:
    response = requests.get(
        session.provider_url,
        headers={"X-BEARER-TOKEN": session.agent_access_token},
        timeout=5,
    )
    assert response.status_code == 200


def test_agent_page_refuses_without_the_tokens(session: NewSession) -> None:
    for form in ({}, {"X-BEARER-TOKEN": "guess"}):
        response = requests.post(session.provider_url, data=form, timeout=5)
        assert response.status_code == 403
        assert response.headers["X-Frame-Options"] == "DENY"
    state = requests.get(session.provider_url.replace("/framed", "/state"), timeout=5)
    assert state.status_code == 401


def test_expired_page_answers_x_frame_options_deny(sandbox: Sandbox, session: NewSession) -> None:
    sandbox.expire_page(session.session_guid)
    response = open_page(session)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "expired" in response.text


def test_page_lifetime_is_a_knob(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.knobs(page_lifetime_seconds=0)
    new = vcc.create_session(agent_id="1001", payment_data={"Amount": "1.00", "Currency": "GBP"})
    assert open_page(new).headers["X-Frame-Options"] == "DENY"


def test_masked_digits_appear_as_the_caller_keys(sandbox: Sandbox, session: NewSession) -> None:
    assert page_state(session)["masked"]["card_number"] == ""
    sandbox.press(session.session_guid, "4111")
    state = page_state(session)
    assert state["masked"]["card_number"] == "••••"
    assert (state["state"], state["step"], state["ready"]) == ("InProgress", "card_number", False)
    sandbox.press(session.session_guid, "111111111111#")
    assert page_state(session)["step"] == "expiry"
    assert "••••" in open_page(session).text


def test_submit_is_refused_until_the_caller_has_keyed_everything(
    sandbox: Sandbox, session: NewSession
) -> None:
    sandbox.press(session.session_guid, f"{APPROVED_CARD}#")
    response = submit(session)
    assert "has not finished keying" in response.text
    assert sandbox.session(session.session_guid)["state"] == "InProgress"


@pytest.mark.parametrize(
    ("card", "decision", "text"),
    [
        ("4111111111111111", "ACCEPT", "Payment approved."),
        ("5555555555554444", "ACCEPT", "Payment approved."),
        ("4000000000000002", "REJECT", "Payment declined."),
        ("4000000000000119", "ERROR", "gateway reported an error"),
        ("4000000000000101", "REVIEW", "held for review"),
    ],
)
def test_test_cards_have_known_outcomes(
    sandbox: Sandbox, vcc: VccClient, session: NewSession, card: str, decision: str, text: str
) -> None:
    sandbox.press(session.session_guid, f"{card}#1239#123#")
    assert page_state(session)["ready"] is True
    response = submit(session)
    assert text in response.text
    assert card not in response.text
    status = vcc.get_session(session.session_guid)
    assert status.finished
    assert status.result is not None
    assert status.result.decision == decision
    assert sandbox.session(session.session_guid)["keyed"] == {
        "card_number": 0,
        "expiry": 0,
        "security_code": 0,
    }


# --- Keying rules -------------------------------------------------------------------------


def test_a_card_number_failing_luhn_is_keyed_again(sandbox: Sandbox, session: NewSession) -> None:
    seen = sandbox.press(session.session_guid, "4111111111111112#")
    assert seen["step"] == "card_number"
    assert seen["keyed"]["card_number"] == 0
    assert "not a valid card number" in seen["prompt"]
    assert sandbox.press(session.session_guid, f"{APPROVED_CARD}#")["step"] == "expiry"


@pytest.mark.parametrize(
    ("expiry", "complaint"), [("0120", "expired"), ("1330", "not a month"), ("123", "MMYY")]
)
def test_a_bad_expiry_is_keyed_again(
    sandbox: Sandbox, session: NewSession, expiry: str, complaint: str
) -> None:
    seen = sandbox.press(session.session_guid, f"{APPROVED_CARD}#{expiry}#")
    assert seen["step"] == "expiry"
    assert complaint in seen["prompt"]
    assert sandbox.press(session.session_guid, "1239#")["step"] == "security_code"


def test_security_code_length_follows_the_card(sandbox: Sandbox, vcc: VccClient) -> None:
    visa = vcc.create_session(agent_id="1", payment_data={"Amount": "1.00", "Currency": "GBP"})
    assert sandbox.press(visa.session_guid, f"{APPROVED_CARD}#1239#12#")["step"] == "security_code"
    assert sandbox.press(visa.session_guid, "123#")["step"] == "ready"
    amex = vcc.create_session(agent_id="1", payment_data={"Amount": "1.00", "Currency": "GBP"})
    seen = sandbox.press(amex.session_guid, "378282246310005#1239#123#")
    assert "4-digit" in seen["prompt"]
    assert sandbox.press(amex.session_guid, "1234#")["step"] == "ready"


def test_star_clears_the_current_step(sandbox: Sandbox, session: NewSession) -> None:
    assert sandbox.press(session.session_guid, "4111*")["keyed"]["card_number"] == 0


def test_hang_up_finishes_with_no_result_and_drops_digits(
    sandbox: Sandbox, vcc: VccClient, session: NewSession
) -> None:
    sandbox.press(session.session_guid, "4111")
    seen = sandbox.hang_up(session.session_guid)
    assert seen["keyed"]["card_number"] == 0
    status = vcc.get_session(session.session_guid)
    assert (status.finished, status.result) == (True, None)
    assert "call ended" in page_state(session)["outcome"]


# --- The caller keypad pages --------------------------------------------------------------


def test_keypad_lists_live_calls_only(sandbox: Sandbox, vcc: VccClient, client: Client) -> None:
    live = vcc.create_session(agent_id="1001", payment_data={"Amount": "1.00", "Currency": "GBP"})
    over = vcc.create_session(agent_id="1002", payment_data={"Amount": "1.00", "Currency": "GBP"})
    sandbox.complete(over.session_guid, "declined")
    page = client.get("/sandbox/keypad/").content.decode()
    assert f"call-{live.session_guid}" in page
    assert f"call-{over.session_guid}" not in page


def test_keypad_names_each_call_by_caller_amount_and_time(
    sandbox: Sandbox, vcc: VccClient, client: Client
) -> None:
    first = vcc.create_session(
        agent_id="1001",
        payment_data={
            "FirstName": "Priya",
            "Surname": "Patel",
            "Amount": "49.99",
            "Currency": "GBP",
        },
    )
    second = vcc.create_session(
        agent_id="1001",
        payment_data={
            "firstname": "John",
            "surname": "Smith",
            "amount": "120.00",
            "currency": "USD",
        },
    )
    page = client.get("/sandbox/keypad/").content.decode()
    # Newest first; two calls of one agent told apart by who is on them.
    assert page.index(f"call-{second.session_guid}") < page.index(f"call-{first.session_guid}")
    assert "Priya Patel, 49.99 GBP</a>" in page and "John Smith, 120.00 USD</a>" in page
    assert "Call for agent" not in page
    assert re.search(r"started \d\d:\d\d:\d\d for agent 1001", page)
    keypad = client.get(f"/sandbox/keypad/{first.session_guid}/").content.decode()
    assert "Priya Patel, 49.99 GBP · call for agent 1001" in keypad


def test_keypad_buttons_press_keys_and_hang_up(
    sandbox: Sandbox, session: NewSession, client: Client
) -> None:
    url = f"/sandbox/keypad/{session.session_guid}/"
    page = client.get(url).content.decode()
    for key_id in [*"0123456789", "star", "hash"]:
        assert f'id="key-{key_id}"' in page
    assert 'id="hang-up"' in page
    for key in APPROVED_CARD[:6]:  # 411111
        response = client.post(url + "press", {"key": key})
        assert response.status_code == 302
    assert page_state(session)["masked"]["card_number"] == "••••••"
    # The keypad's script sends each key and shows the phone's display from the answer.
    shown = client.post(url + "press", {"key": "1"}, headers={"Accept": "application/json"})
    assert shown.json()["masked"]["card_number"] == "•••••••"
    assert shown.json()["live"] is True
    page = client.get(url).content.decode()
    assert APPROVED_CARD[:7] not in re.sub(r"[0-9a-f-]{36}", "", page)
    client.post(url + "hang-up")
    assert sandbox.session(session.session_guid)["state"] == "Finished"
    assert 'id="call-ended"' in client.get(url).content.decode()
    refused = client.post(url + "press", {"key": "1"}, follow=True).content.decode()
    assert "has ended" in refused


def test_keys_after_the_end_are_refused_by_the_control_api(
    sandbox: Sandbox, session: NewSession
) -> None:
    sandbox.complete(session.session_guid, "approved")
    with pytest.raises(Exception, match="409"):
        sandbox.press(session.session_guid, "1")


def test_digital_session_link_opens_the_hosted_card_form(sandbox: Sandbox, vcc: VccClient) -> None:
    new = vcc.create_digital_session(
        agent_id="1001",
        payment_data={"Amount": "5.00", "Currency": "GBP", "CustomerPhoneNumber": "+441632960961"},
    )
    assert new.payment_link
    response = requests.get(new.payment_link, timeout=5)
    assert response.status_code == 200
    assert 'id="card_number"' in response.text and "5.00 GBP" in response.text
