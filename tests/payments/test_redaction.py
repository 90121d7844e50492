"""payments.redaction.redact_card_data: what is kept of a webhook body holds no card data."""

import json

import pytest

from agentdesk.shared.cards import luhn_valid
from payments.redaction import REDACTED, redact_card_data
from payments.vcc.parsing import is_card_data_key

# Test card numbers of the card schemes (public, Luhn-valid).
VISA, MASTERCARD, AMEX, VISA_19 = (
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    ("4111111111111111003"),
)


@pytest.mark.parametrize("number", [VISA, MASTERCARD, AMEX, VISA_19, "4222222222222"])
def test_test_cards_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "text",
    [
        f"card {VISA} end",
        "card 4111 1111 1111 1111 end",
        "card 4111-1111-1111-1111 end",
        "card 3782 822463 10005 end",
        f'{{"x": "{MASTERCARD}"}}',
        f'{{"x": {MASTERCARD}}}',
        "keyed 4111 1111 1111 1111 737 then hung up",  # number then security code
        "4111 1111 1111 1111 2030",  # number then expiry year
    ],
)
def test_card_numbers_are_redacted_however_written(text: str) -> None:
    redacted = redact_card_data(text)
    assert REDACTED in redacted
    assert "1111 1111" not in redacted and "1111-1111" not in redacted
    assert "4111111111111111" not in redacted and "822463" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        '{"requestID": "6461231231231231231231"}',  # 22 digits: a gateway id, not a card
        '{"Amount": "1240", "reasonCode": "100"}',
        '{"sessionGuid": "12345678-1234-4123-8123-123456789012"}',  # an all-digit GUID
        '{"phone": "+441632960961"}',
        '{"lastUpdatedOn": "2025-01-01T10:02:00Z"}',
        "4111111111111112",  # fails Luhn
    ],
)
def test_what_is_not_a_card_number_is_kept(text: str) -> None:
    assert redact_card_data(text) == text


@pytest.mark.parametrize(
    "key",
    [
        "pan",
        "PAN",
        "cardNumber",
        "card_number",
        "CardNo",
        "cvv",
        "CVV2",
        "cvc",
        "securityCode",
        "expiry",
        "expiryDate",
        "ExpirationMonth",
        "expDate",
        "exp_year",
        "track2",
    ],
)
def test_card_data_keys_are_recognised(key: str) -> None:
    assert is_card_data_key(key)
    assert redact_card_data(json.dumps({key: "12/30"})) == json.dumps({key: REDACTED})
    assert redact_card_data(f"{key}=737&amount=1") == f"{key}={REDACTED}&amount=1"


@pytest.mark.parametrize("key", ["Company", "expand", "span", "decision", "reasonCode", "Amount"])
def test_ordinary_keys_are_not_mistaken_for_card_data(key: str) -> None:
    assert not is_card_data_key(key)
    assert redact_card_data(json.dumps({key: "x"})) == json.dumps({key: "x"})


def test_a_whole_body_keeps_its_shape() -> None:
    body = {
        "sessionGuid": "3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f",
        "paymentResultData": {"decision": "ACCEPT", "cardNumber": VISA, "cvv": 737},
    }
    assert json.loads(redact_card_data(json.dumps(body))) == {
        "sessionGuid": "3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f",
        "paymentResultData": {"decision": "ACCEPT", "cardNumber": REDACTED, "cvv": REDACTED},
    }


# A Luhn-valid 16-digit gateway reference (an Adyen pspReference has this shape).
LUHN_REFERENCE = "8815329842815475"


def test_the_reference_used_below_looks_like_a_card_number() -> None:
    assert luhn_valid(LUHN_REFERENCE)


@pytest.mark.parametrize(
    "key", ["requestID", "transactionId", "pspReference", "sessionGuid", "merchantReference"]
)
def test_reference_keys_are_never_taken_for_card_numbers(key: str) -> None:
    for body in (
        json.dumps({key: LUHN_REFERENCE}),
        json.dumps({key: int(LUHN_REFERENCE)}),
        json.dumps({"paymentResultData": {key: LUHN_REFERENCE}}, separators=(",", ":")),
    ):
        assert redact_card_data(body) == body


@pytest.mark.parametrize(
    "key", ["cvn", "cardCode", "CVD", "validTo", "cardNumber", "pan", "expiry", "CARD_CVV"]
)
def test_card_keys_in_any_spelling_are_always_redacted(key: str) -> None:
    assert is_card_data_key(key)
    assert redact_card_data(json.dumps({key: "737"})) == json.dumps({key: REDACTED})
    compact = json.dumps({"paymentResultData": {key: "12/30"}}, separators=(",", ":"))
    assert "12/30" not in redact_card_data(compact)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111.1111.1111.1111 end",
        "card 4111  1111  1111  1111 end",
        '{"note": "card \\u0034\\u0031\\u0031\\u0031111111111111 end"}',
        '{"note": "\\u0034111111111111111"}',
        "not json: \\u0034111111111111111",
        json.dumps({"note": f"paid with {VISA}", "requestID": "1"}),
        json.dumps({"note": json.dumps({"pspReference": "x", "card": VISA})}),
    ],
)
def test_card_numbers_in_free_text_are_redacted_however_written(text: str) -> None:
    redacted = redact_card_data(text)
    assert REDACTED in redacted
    for fragment in ("1111.1111", "1111  1111", "1111111111", "\\u0031111"):
        assert fragment not in redacted


@pytest.mark.parametrize(
    "text", ["caller said cvv 737", "CVC: 1234 given", '{"note": "security code 737"}']
)
def test_security_codes_next_to_their_name_are_redacted(text: str) -> None:
    redacted = redact_card_data(text)
    assert REDACTED in redacted
    assert "737" not in redacted and "1234" not in redacted
