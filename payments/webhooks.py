"""VCC's webhook deliveries: receive and store each one first (card data redacted), process it
through the lifecycle verbs once, replay it from admin; and the bearer tokens VCC gets from our
token endpoint before it posts (payments/views.py serves both over HTTP).

The tokens are signed, not stored: any web process can check them, and they survive a Redis
restart. They name a fingerprint of the configured credentials, so changing the credentials
retires every token issued under the old ones.
"""

import hashlib
import hmac
import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.utils import timezone

from agentdesk.shared.text import fit
from agentdesk.staff import audit
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


def _credentials_fingerprint() -> str:
    raw = f"{settings.WEBHOOK_CLIENT_ID}\0{settings.WEBHOOK_CLIENT_SECRET}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


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
    return _signer().sign_object({"c": _credentials_fingerprint()})


def token_valid(token: str) -> bool:
    """Whether `token` is one we issued under the current credentials and has not expired."""
    if not configured() or not token:
        return False
    try:
        claims = _signer().unsign_object(token, max_age=TOKEN_LIFETIME)
    except (signing.BadSignature, ValueError):
        return False
    fingerprint = claims.get("c") if isinstance(claims, dict) else None
    return isinstance(fingerprint, str) and hmac.compare_digest(
        fingerprint, _credentials_fingerprint()
    )
