"""What the VCC client returns: small dataclasses of our own, never VCC's raw JSON.

Provider tokens are short-lived secrets: they are not shown by repr() and never logged.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from payments.vcc import gateway
from payments.vcc.gateway import Outcome

# [decided] How far apart createdOn and lastUpdatedOn may be and still mean "nothing happened
# since the session opened" (VCC's two stamps of one write may differ by clock rounding).
UNCHANGED_WITHIN = timedelta(seconds=1)


@dataclass(frozen=True)
class NewSession:
    """A session VCC opened: the GUID, the provider's agent page and the tokens to open it."""

    session_guid: str
    provider_url: str
    agent_access_token: str = field(repr=False)
    agent_refresh_token: str = field(repr=False)
    payment_link: str = ""


@dataclass(frozen=True)
class PaymentResult:
    """The gateway's answer as VCC passed it through (`paymentResultData`), card data excluded."""

    decision: str  # the gateway's own word (payments/vcc/gateway.py), or "" when absent
    reason_code: str = ""
    gateway_reference: str = ""  # requestID: the gateway's transaction id
    amount: Decimal | None = None  # converted from minor units with the currency's exponent
    currency: str = ""
    card_brand: str = ""
    transaction_type: str = ""
    message: str = ""


@dataclass(frozen=True)
class SessionStatus:
    """`GET /v1/session/{guid}` (or the webhook's identical body), parsed tolerantly."""

    session_guid: str
    session_state: str  # VCC's own word; only "Finished" means finished
    finished: bool
    result: PaymentResult | None = None
    call_guid: str = ""
    created_on: datetime | None = None
    last_updated_on: datetime | None = None

    @property
    def never_changed(self) -> bool:
        """Whether the session is unfinished and VCC saw no change since it opened
        (lastUpdatedOn equal to createdOn): nothing was keyed, whatever the state word.
        False when either stamp is missing: then we cannot tell."""
        if self.finished or self.created_on is None or self.last_updated_on is None:
            return False
        return abs(self.last_updated_on - self.created_on) <= UNCHANGED_WITHIN

    @property
    def outcome(self) -> Outcome | None:
        """What the session's end means; None while it is not finished."""
        if not self.finished:
            return None
        return gateway.outcome(self.result.decision if self.result else "")

    @property
    def summary(self) -> str:
        """A line saying what VCC reported, for the payment's timeline."""
        if not self.finished:
            return "Session not finished"
        result = self.result
        return gateway.summary(
            result.decision if result else "", result.reason_code if result else ""
        )
