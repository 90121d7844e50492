"""What the VCC client returns: small dataclasses of our own, never VCC's raw JSON.

Provider tokens are short-lived secrets: they are not shown by repr() and never logged.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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

    decision: str  # ACCEPT, REJECT, ERROR, REVIEW, CANCEL, or "" when absent
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
