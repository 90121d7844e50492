"""Reading VCC's JSON tolerantly: unknown keys ignored, key case ignored, [decided] points of
docs/vcc-payment-api.md kept here in one place so real traffic can correct them in one line."""

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from agentdesk.shared.money import MoneyError, from_minor_units
from payments.vcc.errors import VccBadResponse
from payments.vcc.types import NewSession, PaymentResult, SessionStatus

# [doc] the only documented finished state; anything else means "not finished yet".
FINISHED = "finished"
# [decided] where the session GUID may be found in a create-session answer, in order.
SESSION_GUID_KEYS = ("sessionguid", "id", "sessionid")
# Keys whose values could be card data if a gateway ever echoed them: never read, never kept.
# Matched against the key lower-cased with everything but letters and digits removed, whole,
# so "Company" or "expand" are not mistaken for "pan" or "exp".
_CARD_DATA_KEY = re.compile(
    r"(?:card)?pan|.*(?:cardnumber|cardnum|cardno|accountnumber|primaryaccount)"
    r"|(?:card)?(?:cvv2?|cvc2?|cv2|cvn|cvd|csc|cid)|.*(?:securitycode|cardcode|verificationcode)"
    r"|.*expir.*|(?:card)?exp(?:date|month|year|mm|yy|mmyy|iry)?|valid(?:to|thru|until|date)"
    r"|.*trackdata|track[12]"
)
# [decided] Keys whose values are references (the gateway's transaction id, our session),
# never card data however their digits look: a Luhn-valid 16-digit pspReference is kept.
_REFERENCE_KEY = re.compile(
    r".*(?:requestid|transactionid|transid|reference|guid)|.*ref|sessionid|callid|id|orderid"
)
# The keys session_status() and payment_result() read: all a stored delivery needs to keep.
_STATUS_KEYS = ("sessionguid", "id", "sessionid", "sessionstate", "callguid")
_STATUS_TIME_KEYS = ("createdon", "lastupdatedon")
_RESULT_KEYS = (
    "decision",
    "reasoncode",
    "requestid",
    "transactionid",
    "amount",
    "currency",
    "cardtype",
    "cardbrand",
    "transactiontype",
)


def _normal_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_card_data_key(key: str) -> bool:
    """Whether a JSON or form key names card data (a card number, security code, expiry)."""
    return _CARD_DATA_KEY.fullmatch(_normal_key(key)) is not None


def is_reference_key(key: str) -> bool:
    """Whether a key names a reference (transaction id, session GUID) rather than card data."""
    return not is_card_data_key(key) and _REFERENCE_KEY.fullmatch(_normal_key(key)) is not None


def _scalar(value: object) -> str | int | float | None:
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def status_facts(body: dict[str, Any]) -> dict[str, Any]:
    """The card-free facts session_status() reads from a session body, as JSON to keep beside
    the redacted body: only the keys read, never a card-data key or free text."""
    data = lower_keys(body)
    facts: dict[str, Any] = {
        key: value
        for key in (*_STATUS_KEYS, *_STATUS_TIME_KEYS)
        if (value := _scalar(data.get(key))) is not None
    }
    raw = data.get("paymentresultdata")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raise VccBadResponse("VCC's paymentResultData is not valid JSON.") from None
    if isinstance(raw, dict):
        result = lower_keys(raw)
        facts["paymentresultdata"] = {
            key: value for key in _RESULT_KEYS if (value := _scalar(result.get(key))) is not None
        }
    return facts


def lower_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in data.items()}


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body as a JSON object; VccBadResponse for anything else."""
    try:
        body = response.json()
    except ValueError:
        raise VccBadResponse(
            f"VCC answered HTTP {response.status_code} with a body that is not JSON."
        ) from None
    if not isinstance(body, dict):
        raise VccBadResponse("VCC answered with JSON that is not an object.")
    return body


def error_code(response: requests.Response) -> str:
    """The OAuth `error` code of a refused token request, or ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def error_text(response: requests.Response) -> str:
    """[decided] VCC's error message: a `message` or `error` string in a JSON body (first
    200 characters), else ''. Never the whole body: it may echo personal data."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    body = lower_keys(body)
    for key in ("message", "error", "error_description"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:200]
    return ""


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def token(body: dict[str, Any]) -> tuple[str, float]:
    """(access_token, expires_in seconds) from the token answer; token_type in any case."""
    body = lower_keys(body)
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise VccBadResponse("VCC's token answer has no access_token.")
    token_type = str(body.get("token_type", "Bearer"))
    if token_type.lower() != "bearer":
        raise VccBadResponse(f"VCC issued a token of type {token_type!r}, not a bearer token.")
    try:
        expires_in = float(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    return access_token, max(expires_in, 1.0)


def new_session(body: dict[str, Any]) -> NewSession:
    data = lower_keys(body)
    guid = next((str(data[k]) for k in SESSION_GUID_KEYS if data.get(k)), "")
    url = str(data.get("iframeurl") or data.get("url") or "")
    access, refresh = data.get("agentaccesstoken"), data.get("agentrefreshtoken")
    if not guid:
        raise VccBadResponse("VCC opened a session but its answer has no session GUID.")
    if not url.startswith(("https://", "http://")) or not access or not refresh:
        raise VccBadResponse("VCC's session answer lacks the provider page or its tokens.")
    return NewSession(
        session_guid=guid,
        provider_url=url,
        agent_access_token=str(access),
        agent_refresh_token=str(refresh),
        payment_link=str(data.get("paymentlink") or ""),
    )


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def session_status(body: dict[str, Any], *, currency: str = "") -> SessionStatus:
    """A session's status from the GET answer or the webhook body (the same shape)."""
    data = lower_keys(body)
    guid = data.get("sessionguid") or data.get("id") or data.get("sessionid")
    if not guid:
        raise VccBadResponse("VCC's session answer has no sessionGuid.")
    state = str(data.get("sessionstate") or "")
    finished = state.lower() == FINISHED
    return SessionStatus(
        session_guid=str(guid),
        session_state=state,
        finished=finished,
        result=payment_result(data.get("paymentresultdata"), currency=currency),
        call_guid=str(data.get("callguid") or ""),
        created_on=parse_time(data.get("createdon")),
        last_updated_on=parse_time(data.get("lastupdatedon")),
    )


def payment_result(raw: object, *, currency: str = "") -> PaymentResult | None:
    """The gateway's answer, or None when there is none (a session finished without a
    gateway call). Card data keys are never read."""
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raise VccBadResponse("VCC's paymentResultData is not valid JSON.") from None
    if not isinstance(raw, dict) or not raw:
        return None
    data = {k: v for k, v in lower_keys(raw).items() if not is_card_data_key(k)}
    result_currency = str(data.get("currency") or currency or "").upper()
    amount: Decimal | None = None
    message = ""
    raw_amount = data.get("amount")
    if raw_amount not in (None, "") and result_currency:
        try:
            amount = from_minor_units(str(raw_amount), result_currency)
        except MoneyError as error:
            message = f"Amount not readable: {error}"
    return PaymentResult(
        decision=str(data.get("decision") or "").upper(),
        reason_code=str(data.get("reasoncode") or ""),
        gateway_reference=str(data.get("requestid") or data.get("transactionid") or ""),
        amount=amount,
        currency=result_currency,
        card_brand=str(data.get("cardtype") or data.get("cardbrand") or ""),
        transaction_type=str(data.get("transactiontype") or ""),
        message=message,
    )
