"""VCC's webhook, received the way VCC supports: VCC first gets a short-lived bearer token from
our token endpoint with the client credentials we handed to Vonage, then POSTs each result with
it. Every delivery is stored (card data redacted) before anything else and answered at once;
a task applies it (payments.services.process_webhook_delivery).

The tokens are signed, not stored: any web process can check them, and they survive a Redis
restart. They name a fingerprint of the configured credentials, so changing the credentials
retires every token issued under the old ones.
"""

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote_plus

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import services

TOKEN_SALT = "payments.webhook.token"
# Largest body we accept; VCC's result is a few kilobytes.
MAX_BODY_BYTES = 64 * 1024


def _credentials_fingerprint() -> str:
    raw = f"{settings.WEBHOOK_CLIENT_ID}\0{settings.WEBHOOK_CLIENT_SECRET}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _signer() -> signing.TimestampSigner:
    # "." keeps the token inside RFC 6750's bearer token characters.
    return signing.TimestampSigner(salt=TOKEN_SALT, sep=".")


def webhook_configured() -> bool:
    return bool(settings.WEBHOOK_CLIENT_ID and settings.WEBHOOK_CLIENT_SECRET)


def credentials_match(client_id: str, client_secret: str) -> bool:
    """Constant-time check of the client credentials; never true when none are configured."""
    if not webhook_configured():
        return False
    id_ok = hmac.compare_digest(client_id.encode(), settings.WEBHOOK_CLIENT_ID.encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), settings.WEBHOOK_CLIENT_SECRET.encode())
    return id_ok and secret_ok


def issue_token() -> str:
    return _signer().sign_object({"c": _credentials_fingerprint()})


def token_valid(token: str) -> bool:
    """Whether `token` is one we issued under the current credentials and has not expired."""
    if not webhook_configured() or not token:
        return False
    try:
        claims = _signer().unsign_object(token, max_age=settings.WEBHOOK_TOKEN_LIFETIME)
    except (signing.BadSignature, ValueError):
        return False
    fingerprint = claims.get("c") if isinstance(claims, dict) else None
    return isinstance(fingerprint, str) and hmac.compare_digest(
        fingerprint, _credentials_fingerprint()
    )


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
def token(request: HttpRequest) -> JsonResponse:
    """`POST /payments/webhook/token`: OAuth2 client credentials, in the body or HTTP Basic."""
    credentials = _basic_credentials(request) or (
        request.POST.get("client_id", ""),
        request.POST.get("client_secret", ""),
    )
    if not credentials_match(*credentials):
        return _oauth_error(
            "invalid_client", 401, **{"WWW-Authenticate": 'Basic realm="agentdesk-webhook"'}
        )
    if request.POST.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400)
    return JsonResponse(
        {
            "access_token": issue_token(),
            "expires_in": int(settings.WEBHOOK_TOKEN_LIFETIME.total_seconds()),
            "token_type": "Bearer",
        },
        headers={"Cache-Control": "no-store"},
    )


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_POST
def receive(request: HttpRequest) -> JsonResponse:
    """`POST /payments/webhook/vcc`: VCC's result, the same body as GET /v1/session/{guid}.

    Stored first (card data redacted), answered 200 at once; processed by a task."""
    if not token_valid(_bearer(request)):
        return _oauth_error(
            "invalid_token", 401, **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    raw = request.read(MAX_BODY_BYTES + 1)
    delivery = services.receive_webhook(
        body=raw[:MAX_BODY_BYTES].decode("utf-8", errors="replace"),
        too_large=len(raw) > MAX_BODY_BYTES,
    )
    if not delivery.is_valid:
        return JsonResponse({"error": delivery.error, "delivery": delivery.pk}, status=400)
    return JsonResponse({"received": True, "delivery": delivery.pk})
