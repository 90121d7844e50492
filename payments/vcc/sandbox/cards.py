"""Test cards, the checks the provider makes before calling the gateway (Luhn, expiry), and the
gateway's answers. Card numbers appear nowhere else in the project outside tests."""

from dataclasses import dataclass
from datetime import datetime

from agentdesk.shared import cards


@dataclass(frozen=True)
class Outcome:
    """A gateway answer (CyberSource-like, as VCC passes it through); None for a hang-up."""

    decision: str
    reason_code: str


# The outcomes the control API can drive a session to. "hangup" finishes the session with no
# gateway call at all, so with no paymentResultData.
OUTCOMES: dict[str, Outcome | None] = {
    "approved": Outcome("ACCEPT", "100"),
    "declined": Outcome("REJECT", "203"),
    "error": Outcome("ERROR", "150"),
    "review": Outcome("REVIEW", "480"),
    "cancel": Outcome("CANCEL", "0"),
    "hangup": None,
}

# Luhn-valid numbers with a known outcome; any other Luhn-valid number is approved.
TEST_CARDS: dict[str, str] = {
    "4111111111111111": "approved",
    "5555555555554444": "approved",
    "4000000000000002": "declined",
    "4000000000000119": "error",
    "4000000000000101": "review",
}
CARD_BRANDS = {"4": "Visa", "5": "Mastercard", "2": "Mastercard", "3": "American Express"}


def card_outcome(number: str) -> str:
    return TEST_CARDS.get(number, "approved")


def card_brand(number: str) -> str:
    return CARD_BRANDS.get(number[:1], "Card")


def luhn_valid(number: str) -> bool:
    """A plausible card number: 12 to 19 digits passing the Luhn check."""
    return number.isdigit() and 12 <= len(number) <= 19 and cards.luhn_valid(number)


def expiry_problem(mmyy: str, now: datetime) -> str:
    """Why an expiry date keyed as MMYY cannot be used, or '' when it is fine (valid through
    the end of its month)."""
    if len(mmyy) != 4 or not mmyy.isdigit():
        return "Key the expiry date as four digits, month then year (MMYY)."
    month, year = int(mmyy[:2]), 2000 + int(mmyy[2:])
    if not 1 <= month <= 12:
        return "That is not a month. Key the expiry date again (MMYY)."
    if (year, month) < (now.year, now.month):
        return "That card has expired. Key the expiry date again, or use another card."
    return ""


def security_code_length(number: str) -> int:
    return 4 if card_brand(number) == "American Express" else 3
