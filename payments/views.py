"""The webhook's HTTP side, the way VCC supports it: VCC first gets a short-lived bearer token
from our token endpoint with the client credentials we handed to Vonage, then POSTs each
result with it. Each delivery is stored and answered at once (payments/webhooks.py)."""

import base64
import binascii
from urllib.parse import unquote_plus

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agentdesk.staff.audit import client_ip
from payments import webhooks
from payments.metrics import count_webhook

# Largest body we accept; VCC's result is a few kilobytes.
MAX_BODY_BYTES = 64 * 1024


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: both parts are form-urlencoded before being joined.
    return unquote_plus(client_id), unquote_plus(client_secret)


def _oauth_error(error: str, status: int, **headers: str) -> JsonResponse:
    return JsonResponse(
        {"error": error}, status=status, headers={"Cache-Control": "no-store", **headers}
    )


@csrf_exempt
@require_POST
def webhook_token(request: HttpRequest) -> JsonResponse:
    """`POST /payments/webhook/token`: OAuth2 client credentials, in the body or HTTP Basic."""
    if webhooks.token_requests_locked(client_ip(request)):
        seconds = int(webhooks.TOKEN_FAILURE_WINDOW.total_seconds())
        return _oauth_error("slow_down", 429, **{"Retry-After": str(seconds)})
    credentials = _basic_credentials(request) or (
        request.POST.get("client_id", ""),
        request.POST.get("client_secret", ""),
    )
    if not webhooks.credentials_match(*credentials):
        webhooks.token_refused(client_id=credentials[0], reason="invalid_client", request=request)
        return _oauth_error(
            "invalid_client", 401, **{"WWW-Authenticate": 'Basic realm="agentdesk-webhook"'}
        )
    if request.POST.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400)
    return JsonResponse(
        {
            "access_token": webhooks.issue_token(),
            "expires_in": int(webhooks.TOKEN_LIFETIME.total_seconds()),
            "token_type": "Bearer",
        },
        headers={"Cache-Control": "no-store"},
    )


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    """`POST /payments/webhook/vcc`: VCC's result, the same body as GET /v1/session/{guid}.

    Stored first (card data redacted), answered 200 at once; processed by a task."""
    if not webhooks.token_valid(_bearer(request)):
        count_webhook("refused")
        return _oauth_error(
            "invalid_token", 401, **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    raw = request.read(MAX_BODY_BYTES + 1)
    delivery = webhooks.receive(
        body=raw[:MAX_BODY_BYTES].decode("utf-8", errors="replace"),
        too_large=len(raw) > MAX_BODY_BYTES,
    )
    count_webhook(delivery.status)
    if delivery.status == webhooks.Status.INVALID:
        return JsonResponse({"error": delivery.error, "delivery": delivery.pk}, status=400)
    return JsonResponse({"received": True, "delivery": delivery.pk})
