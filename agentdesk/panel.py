"""What the desk's payment panel says about a payment: the words, the tone, the actions and how
often to look again. Kept out of the templates so each state reads as one line here."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from payments.models import Payment
from payments.money import format_major

State = Payment.State

# Seconds between reads while a supervisor may release an unknown outcome.
UNKNOWN_POLL_SECONDS = 5.0

# [decided] CyberSource-style reason codes (VCC passes the gateway's answer through); an
# unlisted code is shown as it is.
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


@dataclass(frozen=True)
class StatusView:
    label: str
    tone: str  # wait | ok | bad | warn
    headline: str
    details: list[tuple[str, str]] = field(default_factory=list)
    poll_every: float | None = None
    retry_label: str = ""
    finished: bool = False


def decline_reason(code: str) -> str:
    if not code:
        return "the card issuer declined it"
    return f"{DECLINE_REASONS.get(code, 'the gateway declined it')} (reason code {code})"


def status_view(payment: Payment) -> StatusView:
    """The panel's words for `payment` in its current state."""
    label = payment.get_state_display()
    poll = settings.DESK_STATUS_POLL_SECONDS
    order = payment.order
    match payment.state:
        case State.STARTING:
            return StatusView(label, "wait", "Opening the payment session…", poll_every=poll)
        case State.IN_PROGRESS:
            return StatusView(
                label,
                "wait",
                "Talk the caller through keying the card on their phone, then press the "
                "payment page's own submit button.",
                poll_every=poll,
            )
        case State.APPROVED:
            amount = payment.result_amount if payment.result_amount is not None else order.amount
            details = [
                ("Gateway reference", payment.gateway_reference or "—"),
                ("Amount", f"{format_major(amount, order.currency)} {order.currency}"),
            ]
            if payment.card_brand:
                details.append(("Card", payment.card_brand))
            return StatusView(label, "ok", "Approved: the order is paid.", details, finished=True)
        case State.DECLINED:
            return StatusView(
                label,
                "bad",
                f"Declined: {decline_reason(payment.gateway_reason_code)}.",
                retry_label="Retry payment",
                finished=True,
            )
        case State.ERROR:
            return StatusView(
                label,
                "bad",
                "The card gateway reported an error"
                + (
                    f" (reason code {payment.gateway_reason_code})."
                    if payment.gateway_reason_code
                    else "."
                ),
                retry_label="Retry payment",
                finished=True,
            )
        case State.ABANDONED:
            return StatusView(
                label,
                "warn",
                "The session ended without a card payment (the caller hung up, or the page "
                "was closed).",
                retry_label="Retry payment",
                finished=True,
            )
        case State.EXPIRED:
            return StatusView(
                label,
                "warn",
                "The payment page expired before a card was submitted.",
                retry_label="Restart payment",
                finished=True,
            )
        case State.UNKNOWN:
            why = f" {payment.message.rstrip('.')}." if payment.message else ""
            return StatusView(
                label,
                "warn",
                f"The outcome could not be confirmed.{why} Do not take this payment again: a "
                "supervisor checks with the gateway and releases it.",
                poll_every=UNKNOWN_POLL_SECONDS,
                finished=True,
            )
        case _:  # failed to start
            why = payment.message or "VCC refused the session."
            return StatusView(
                label,
                "bad",
                f"The payment did not start: {why}",
                retry_label="Retry payment",
                finished=True,
            )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def provider_problem(provider_url: str, request: HttpRequest) -> str:
    """Why the browser will refuse to show the provider's page, or "" when our Content Security
    Policy allows its origin (our own, or one of VCC_PROVIDER_ORIGINS)."""
    origin = origin_of(provider_url)
    allowed = {origin_of(request.build_absolute_uri("/"))}
    allowed.update(origin_of(o) for o in settings.VCC_PROVIDER_ORIGINS)
    if origin in allowed:
        return ""
    return (
        f"This desk does not allow payment pages from {origin} (its Content Security Policy), "
        "so the page will stay blank: an administrator must add that origin to "
        "VCC_PROVIDER_ORIGINS."
    )
