"""Optional error reporting to Sentry (SENTRY_DSN; off when unset), with the Django and Celery
integrations. What our log lines never hold never leaves for Sentry either: `scrub` runs on
every event before it is sent."""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.types import Event, Hint

from agentdesk.shared.logcontext import mask_card_numbers

FILTERED = "[Filtered]"
# Keys whose values are secrets, provider tokens or card data wherever they appear (headers,
# form fields, extra data, variables), matched case-insensitively as part of the key.
SENSITIVE_KEY = re.compile(
    r"authorization|cookie|csrf|sessionid|secret|password|passwd|token|api[_-]?key|dsn"
    r"|card|pan\b|cvv|cvc|security[_-]?code|expir",
    re.IGNORECASE,
)
BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def init(*, dsn: str, environment: str, release: str = "") -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No cookies, users' addresses or request bodies, and no local variables (a
        # function's locals may hold a provider token).
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
        traces_sample_rate=0.0,
    )


def scrub(event: Event, hint: Hint) -> Event:
    """`event` without secrets, provider tokens or card numbers: values under sensitive keys
    are replaced, and every text has its card numbers and bearer tokens removed."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
    cleaned: Event = _clean(event)
    return cleaned


def _clean(value: Any, key: str = "") -> Any:
    if key and SENSITIVE_KEY.search(key):
        return FILTERED
    if isinstance(value, dict):
        return {k: _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Headers come as [name, value] pairs in some events.
        if len(value) == 2 and isinstance(value[0], str) and SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return BEARER.sub(r"\1" + FILTERED, mask_card_numbers(value))
    return value
