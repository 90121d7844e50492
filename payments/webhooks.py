"""VCC's webhook deliveries: receive and store each one first (card data redacted), process it
through the lifecycle verbs once, replay it from admin; and the bearer tokens VCC gets from our
token endpoint before it posts (payments/views.py serves both over HTTP).

The tokens are signed and name a random key id kept in the shared cache under a keyed digest of
the configured credentials: they carry nothing derived from the secret, any web process can
check them, and changing the credentials retires every token issued under the old ones (as
does losing the cache: VCC then gets a 401 and asks for a new token).
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from agentdesk.shared.breaker import count_in_window
from agentdesk.shared.text import fit
from agentdesk.staff import audit
from agentdesk.staff.audit import client_ip
from agentdesk.staff.models import AuditEntry
from payments import services
from payments.models import Payment, PaymentEvent, WebhookDelivery
from payments.orders import PaymentBlocked
from payments.redaction import redact_card_data
from payments.vcc.errors import VccBadResponse
from payments.vcc.parsing import session_status, status_facts

PROCESS_TASK = "payments.process_webhook"
# A delivery whose session is not (yet) ours is tried this many times, then ignored.
ATTEMPTS = 5
# Lifetime of the bearer tokens our token endpoint issues to VCC.
TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_SALT = "payments.webhook.token"
# Refused token requests from one client address before it is refused outright (429) until
# TOKEN_FAILURE_WINDOW passes without another.
TOKEN_FAILURE_LIMIT = 10
TOKEN_FAILURE_WINDOW = timedelta(minutes=15)

Status = WebhookDelivery.Status


# --- Deliveries -------------------------------------------------------------------------------


def receive(*, body: str, too_large: bool = False) -> WebhookDelivery:
    """Store one webhook delivery first (card data redacted), then, when it is readable,
    have the worker process it after commit. An unreadable one is stored as invalid.

    Parse first, redact second: the result is read from the original body and kept as
    card-free facts beside the redacted text, so redaction never changes what is applied."""
    error = ""
    session_guid = ""
    facts: dict[str, object] = {}
    text = "" if too_large else redact_card_data(body)
    if too_large:
        error = "The body is larger than we accept; it was not stored."
    else:
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise VccBadResponse("The body is JSON but not an object.")
            facts = status_facts(parsed)
            session_guid = fit(WebhookDelivery, "session_guid", session_status(facts).session_guid)
        except ValueError:
            error = "The body is not JSON."
        except VccBadResponse as bad:
            error = str(bad)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            body=text,
            facts=facts,
            status=Status.INVALID if error else Status.RECEIVED,
            error=fit(WebhookDelivery, "error", error),
            session_guid=session_guid,
        )
        if not error:
            services.enqueue(PROCESS_TASK, delivery.pk)
    return delivery


def process(*, delivery_id: int) -> WebhookDelivery:
    """Apply a stored delivery's result through apply_result, once: a delivery already
    processed (or invalid) is left alone. One whose session no payment has yet stays
    `received` for another attempt, and is ignored after ATTEMPTS."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != Status.RECEIVED:
            return delivery
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != Status.RECEIVED:
            return delivery
        payment = (
            Payment.objects.filter(session_guid=delivery.session_guid)
            .select_related("order")
            .first()
            if delivery.session_guid
            else None
        )
        if payment is None:
            delivery.error = "No payment has this session."
            if delivery.attempts >= ATTEMPTS:
                delivery.status = Status.IGNORED
                delivery.processed_at = timezone.now()
            delivery.save(update_fields=["error", "status", "processed_at"])
            return delivery
        delivery.payment = payment
        delivery.processed_at = timezone.now()
        try:
            # Deliveries stored before facts were kept are read from their (redacted) body.
            facts = delivery.facts or json.loads(delivery.body)
            status = session_status(facts, currency=payment.order.currency)
        except (ValueError, VccBadResponse) as error:
            delivery.status = Status.INVALID
            delivery.error = fit(WebhookDelivery, "error", f"Unreadable: {error}")
            delivery.save()
            return delivery
        services.apply_result(
            payment_id=payment.pk, status=status, source=PaymentEvent.Source.WEBHOOK
        )
        delivery.status = Status.PROCESSED
        delivery.error = "" if status.finished else f"Session not finished ({status.session_state})"
        delivery.save()
        return delivery


def replay(*, delivery_id: int, actor: User) -> WebhookDelivery:
    """Process a stored delivery again (from admin), as if it had just arrived; apply_result
    keeps it from applying anything twice."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if not delivery.body:
            raise PaymentBlocked("This delivery has no stored body to replay.")
        delivery.status = Status.RECEIVED
        delivery.attempts = 0
        delivery.error = ""
        delivery.processed_at = None
        delivery.save()
        audit.record(
            AuditEntry.Action.ADMIN_CHANGE,
            actor=actor,
            target=str(delivery),
            change="webhook delivery replayed",
            delivery=delivery.pk,
        )
        services.enqueue(PROCESS_TASK, delivery.pk)
    return delivery


# --- The bearer tokens ------------------------------------------------------------------------


def _key_id_cache_key() -> str:
    # Named by a keyed digest of the credentials, so new credentials find no key id and every
    # token issued under the old ones stops working; the digest never leaves the cache.
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"{settings.WEBHOOK_CLIENT_ID}\0{settings.WEBHOOK_CLIENT_SECRET}".encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"webhook-token-key:{digest}"


def _key_id(*, create: bool) -> str | None:
    """The random id today's tokens name (made on first use when `create`)."""
    if create:
        cache.add(_key_id_cache_key(), secrets.token_urlsafe(16), timeout=None)
    value = cache.get(_key_id_cache_key())
    return value if isinstance(value, str) else None


def _signer() -> signing.TimestampSigner:
    # "." keeps the token inside RFC 6750's bearer token characters.
    return signing.TimestampSigner(salt=TOKEN_SALT, sep=".")


def configured() -> bool:
    return bool(settings.WEBHOOK_CLIENT_ID and settings.WEBHOOK_CLIENT_SECRET)


def credentials_match(client_id: str, client_secret: str) -> bool:
    """Constant-time check of the client credentials; never true when none are configured."""
    if not configured():
        return False
    id_ok = hmac.compare_digest(client_id.encode(), settings.WEBHOOK_CLIENT_ID.encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), settings.WEBHOOK_CLIENT_SECRET.encode())
    return id_ok and secret_ok


def issue_token() -> str:
    return _signer().sign_object({"k": _key_id(create=True)})


def token_valid(token: str) -> bool:
    """Whether `token` is one we issued under the current credentials and has not expired."""
    if not configured() or not token:
        return False
    try:
        claims = _signer().unsign_object(token, max_age=TOKEN_LIFETIME)
    except (signing.BadSignature, ValueError):
        return False
    key_id = claims.get("k") if isinstance(claims, dict) else None
    current = _key_id(create=False)
    return isinstance(key_id, str) and current is not None and hmac.compare_digest(key_id, current)


def token_requests_locked(address: str | None) -> bool:
    """Whether this client address failed the token endpoint too often lately."""
    count = cache.get(_failures_key(address), 0)
    return isinstance(count, int) and count >= TOKEN_FAILURE_LIMIT


def token_refused(*, client_id: str, reason: str, request: HttpRequest) -> None:
    """Count a refused token request against its client address and audit it (never with
    the secret that was tried)."""
    address = client_ip(request)
    count_in_window(_failures_key(address), TOKEN_FAILURE_WINDOW.total_seconds())
    audit.record(
        AuditEntry.Action.WEBHOOK_TOKEN_REFUSED,
        actor_name=client_id,
        target="webhook token endpoint",
        request=request,
        reason=reason,
    )


def _failures_key(address: str | None) -> str:
    return f"webhook-token-failures:{address or 'unknown'}"
