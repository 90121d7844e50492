"""The gateway's words, as VCC passes them through in `paymentResultData` (CyberSource-like in
VCC's example): its decisions and reason codes, turned into our own `Outcome` and into a line
a person can read. [decided] points of docs/vcc-payment-api.md, kept here in one place."""

from enum import StrEnum


class Outcome(StrEnum):
    """What a finished session means, in our words."""

    APPROVED = "approved"
    DECLINED = "declined"
    GATEWAY_ERROR = "gateway_error"
    CANCELLED = "cancelled"
    NO_PAYMENT = "no_payment"  # finished with no gateway call at all (the caller hung up)
    HELD_FOR_REVIEW = "held_for_review"  # the money may be held: not safe to call failed
    NOT_UNDERSTOOD = "not_understood"


# [decided] The gateway's `decision` -> what it means. REVIEW means the money may be held
# pending the merchant's review: not safe to call failed.
DECISIONS: dict[str, Outcome] = {
    "ACCEPT": Outcome.APPROVED,
    "REJECT": Outcome.DECLINED,
    "ERROR": Outcome.GATEWAY_ERROR,
    "CANCEL": Outcome.CANCELLED,
    "REVIEW": Outcome.HELD_FOR_REVIEW,
}

# [decided] CyberSource-style reason codes of a declined payment; an unlisted code is shown as
# it is.
DECLINE_REASONS: dict[str, str] = {
    "200": "the address check failed",
    "201": "the card issuer wants a call (referral)",
    "202": "the card has expired",
    "203": "the card issuer declined it",
    "204": "insufficient funds",
    "205": "the card is reported lost or stolen",
    "207": "the card issuer cannot be reached",
    "208": "the card is inactive or not allowed for this payment",
    "210": "the card's credit limit is reached",
    "211": "the security code is wrong",
    "221": "the customer is on the gateway's blocked list",
    "230": "the security code check failed",
    "231": "the card number is not valid",
    "232": "this card type is not accepted",
    "233": "the payment processor declined it",
}


def outcome(decision: str) -> Outcome:
    """What a finished session's gateway decision means ("": no gateway answer, no payment)."""
    if not decision:
        return Outcome.NO_PAYMENT
    return DECISIONS.get(decision, Outcome.NOT_UNDERSTOOD)


def summary(decision: str, reason_code: str) -> str:
    """A line for the payment's timeline saying what the gateway answered."""
    if not decision:
        return "Session finished without a gateway answer"
    if decision not in DECISIONS:
        return f"Gateway decision '{decision}' is not understood"
    code = f" (reason {reason_code})" if reason_code else ""
    return f"Gateway decision {decision}{code}"


def decline_reason(code: str) -> str:
    """Why the gateway declined a card, for the agent to tell the caller."""
    if not code:
        return "the card issuer declined it"
    return f"{DECLINE_REASONS.get(code, 'the gateway declined it')} (reason code {code})"
