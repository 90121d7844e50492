"""VCC's webhook deliveries: receive and store each one first (card data redacted), ring for
it (the session is read from VCC, and what VCC says is applied: a delivery is the doorbell,
never the truth), settle it against VCC's word, replay it from admin; and the bearer tokens VCC
gets from our token endpoint before it posts (payments/views.py serves both over HTTP).

The tokens are signed and name a random key id kept in the shared cache under a keyed digest of
the configured credentials: they carry nothing derived from the secret, any web process can
check them, and changing the credentials retires every token issued under the old ones (as
does losing the cache: VCC then gets a 401 and asks for a new token).
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from agentdesk.shared.breaker import count_in_window
from agentdesk.shared.text import fit
from agentdesk.staff import audit
from agentdesk.staff.audit import client_ip
from agentdesk.staff.models import AuditEntry
from payments import outbox, services
from payments.metrics import count_webhook
from payments.models import Payment, PaymentEvent, WebhookDelivery
from payments.orders import PaymentBlocked
from payments.redaction import redact_card_data
from payments.states import READ_STATES, result_state
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for
from payments.vcc.errors import VccBadResponse, VccError, VccSessionNotFound
from payments.vcc.parsing import session_status, status_facts
from payments.vcc.types import SessionStatus

PROCESS_TASK = "payments.process_webhook"
# A poll round started at once because a delivery rang (rather than at beat's next tick).
CONFIRM_TASK = "payments.confirm_rung"
# At most one such round waits in the queue; the key frees itself if its task is lost.
KICK_KEY = "payments:webhooks:kick"
KICK_TIMEOUT = 5
# A delivery whose session is not (yet) ours, or that VCC cannot be read for, is tried this
# many times, then ignored (or left unconfirmed).
ATTEMPTS = 5
# Lifetime of the bearer tokens our token endpoint issues to VCC.
TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_SALT = "payments.webhook.token"
# Refused token requests from one client address before it is refused outright (429) until
# TOKEN_FAILURE_WINDOW passes without another.
TOKEN_FAILURE_LIMIT = 10
TOKEN_FAILURE_WINDOW = timedelta(minutes=15)

Status = WebhookDelivery.Status
Source = PaymentEvent.Source


# --- Deliveries -------------------------------------------------------------------------------


def receive(*, body: str, too_large: bool = False) -> WebhookDelivery:
    """Store one webhook delivery first (card data redacted); when it is readable, ring for
    it: its live payment's session is read from VCC at once, by the poller, and what VCC says
    is applied (the delivery is only evidence). An unreadable one is stored as invalid.

    Parse first, redact second: the claim is read from the original body and kept as card-free
    facts beside the redacted text, so redaction never changes what is compared."""
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
        # The common case costs one UPDATE: the poller's next round reads the session. A
        # session not ours (yet), or a payment already settled, goes to a task of its own.
        if not error and not ring(session_guid):
            outbox.enqueue(PROCESS_TASK, delivery.pk)
    return delivery


def ring(session_guid: str) -> bool:
    """Make the payment of `session_guid` due for a read now, marked as rung, and have a poll
    round start soon, when its session is still read (live, or abandoned by its agent while
    open: states.READ_STATES). False when no such payment has this session."""
    now = timezone.now()
    # A live payment always (even one whose next read a lost message dropped); an abandoned
    # one only while its session is still read: one the caller hung up on is settled.
    still_read = Q(state=Payment.State.IN_PROGRESS) | Q(
        state__in=READ_STATES, next_poll_at__isnull=False
    )
    rung = Payment.objects.filter(still_read, session_guid=session_guid)
    if not rung.update(next_poll_at=now, rung_at=now):
        return False
    if cache.add(KICK_KEY, 1, timeout=KICK_TIMEOUT):
        outbox.enqueue(CONFIRM_TASK)
    return True


def kick_taken() -> None:
    """The queued round has started: the next ring may queue another."""
    cache.delete(KICK_KEY)


def process(*, delivery_id: int) -> WebhookDelivery:
    """Handle a stored delivery that receive() could not ring for (or a replay): ring when its
    payment is live; read the session from VCC now and settle it when the payment is already
    settled. One left `received` with an error (no payment has its session yet, VCC could not
    be read) is tried again later, and ignored or unconfirmed after ATTEMPTS."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != Status.RECEIVED:
            return delivery
        delivery.attempts += 1
        payment = (
            Payment.objects.filter(session_guid=delivery.session_guid)
            .select_related("order", "flow")
            .first()
            if delivery.session_guid
            else None
        )
        if payment is None:
            delivery.error = "No payment has this session."
            if delivery.attempts >= ATTEMPTS:
                delivery.status = Status.IGNORED
                delivery.processed_at = timezone.now()
            delivery.save(update_fields=["attempts", "error", "status", "processed_at"])
            return delivery
        delivery.payment = payment
        delivery.error = ""
        delivery.save(update_fields=["attempts", "error", "payment"])
        if ring(delivery.session_guid):
            return delivery
    vcc: SessionStatus | None = None
    why = ""
    try:
        vcc = client_for(payment.flow.account).get_session(
            delivery.session_guid, currency=payment.order.currency
        )
    except VccSessionNotFound:
        why = "VCC no longer has this session"
    except (VccError, AccountConfigError) as error:
        if delivery.attempts < ATTEMPTS:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                error=fit(WebhookDelivery, "error", f"VCC could not be read ({error}); again later")
            )
            return WebhookDelivery.objects.get(pk=delivery.pk)
        why = f"VCC could not be read ({error})"
    confirm(payment_id=payment.pk, session_guid=delivery.session_guid, vcc=vcc, why=why)
    return WebhookDelivery.objects.get(pk=delivery.pk)


def confirm(*, payment_id: int, session_guid: str, vcc: SessionStatus | None, why: str) -> None:
    """Settle a settled payment's waiting deliveries against what VCC just said (`vcc`, or
    None and `why` when it could not say), and record VCC's result through apply_result: a
    repeat changes nothing, a different one is a contradiction for the supervisor. When a
    delivery handled at the same moment by another process settled them first, there is
    nothing left to record."""
    with transaction.atomic():
        settled = settle(payment_id=payment_id, session_guid=session_guid, vcc=vcc, why=why)
        if vcc is not None and vcc.finished and settled.settled:
            source = Source.WEBHOOK if settled.confirmed else Source.POLL
            services.apply_result(payment_id=payment_id, status=vcc, source=source)


def replay(*, delivery_id: int, actor: User) -> WebhookDelivery:
    """Handle a stored delivery again (from admin), as if it had just arrived: its session is
    read from VCC again and the delivery settled against what VCC says; apply_result keeps it
    from applying anything twice."""
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
        outbox.enqueue(PROCESS_TASK, delivery.pk)
    return delivery


# --- Settling deliveries against VCC's word ---------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """What settling a session's waiting deliveries found."""

    confirmed: int = 0
    any_stored: bool = False  # whether the session has any delivery at all
    settled: int = 0  # deliveries this call settled (another may have settled them first)


def settle(
    *,
    payment_id: int,
    session_guid: str,
    vcc: SessionStatus | None,
    why: str = "",
    read_at: datetime | None = None,
) -> Settled:
    """Settle the session's deliveries still `received` against VCC's own word, inside the
    caller's transaction: confirmed when VCC says the same (or the delivery said the session was
    not finished yet), contradicted when it says otherwise, unconfirmed when VCC could not be
    read (`vcc` None, `why`). A finished claim VCC contradicts or cannot confirm is never
    applied: it flags the payment, with the delivery as evidence. While VCC says unfinished,
    only deliveries received before the read (`read_at`) are settled: a later one may announce
    what VCC had not yet said when we asked."""
    pending = WebhookDelivery.objects.select_for_update().filter(
        session_guid=session_guid, status=Status.RECEIVED
    )
    if vcc is not None and not vcc.finished and read_at is not None:
        pending = pending.filter(received_at__lte=read_at)
    deliveries = list(pending.order_by("pk"))
    rung = Payment.objects.filter(pk=payment_id, rung_at__isnull=False)
    if read_at is not None:
        rung = rung.filter(rung_at__lte=read_at)  # a later ring waits for the next read
    rung.update(rung_at=None)
    if not deliveries:
        stored = WebhookDelivery.objects.filter(session_guid=session_guid).exists()
        return Settled(any_stored=stored)
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    confirmed = 0
    for delivery in deliveries:
        status, note, flag = _verdict(delivery, payment, vcc, why)
        delivery.status, delivery.payment = status, payment
        delivery.error = fit(WebhookDelivery, "error", note)
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["status", "payment", "error", "processed_at"])
        transaction.on_commit(partial(count_webhook, status))
        confirmed += status == Status.CONFIRMED
        if flag:
            kind = PaymentEvent.Kind.CONTRADICTION if vcc else PaymentEvent.Kind.NOTE
            claim = _claim(delivery, payment.order.currency)
            services.flag_payment(
                payment_id=payment_id,
                message=f"Webhook delivery {delivery.pk}: {note}",
                data={
                    "delivery": delivery.pk,
                    "claimed": services.result_facts(claim) if claim else None,
                    "vcc": services.result_facts(vcc) if vcc else None,
                },
                kind=kind,
            )
    return Settled(confirmed=confirmed, any_stored=True, settled=len(deliveries))


def _claim(delivery: WebhookDelivery, currency: str) -> SessionStatus | None:
    """What the delivery said, from its card-free facts (the redacted body for deliveries
    stored before facts were kept), or None when it cannot be read."""
    try:
        return session_status(delivery.facts or json.loads(delivery.body), currency=currency)
    except (ValueError, VccBadResponse):
        return None


def _verdict(
    delivery: WebhookDelivery, payment: Payment, vcc: SessionStatus | None, why: str
) -> tuple[str, str, bool]:
    """The delivery's status, a note saying why, and whether it flags the payment."""
    claim = _claim(delivery, payment.order.currency)
    if claim is None:
        return Status.INVALID, "Unreadable: the stored body is not a session", False
    said = claim.summary if claim.finished else f"not finished ({claim.session_state})"
    if vcc is None:
        # A finished claim the payment does not already show stays the supervisor's to check.
        link = payment.kind == Payment.Kind.LINK
        shown = (
            claim.outcome is not None and result_state(claim.outcome, link=link) == payment.state
        )
        note = f"claimed '{said}', which VCC could not confirm: {why}; not applied"
        return Status.UNCONFIRMED, note, claim.finished and not shown
    if not claim.finished:
        note = "VCC has finished the session since" if vcc.finished else ""
        return Status.CONFIRMED, note, False
    if vcc.finished and _same_result(claim, vcc):
        return Status.CONFIRMED, "", False
    vcc_says = vcc.summary if vcc.finished else f"not finished ({vcc.session_state})"
    note = f"claimed '{said}' but VCC says '{vcc_says}'; the claim was not applied"
    return Status.CONTRADICTED, note, True


def _same_result(claim: SessionStatus, vcc: SessionStatus) -> bool:
    if claim.outcome != vcc.outcome:
        return False
    ours, theirs = claim.result, vcc.result
    if ours is None or theirs is None:
        return ours is theirs
    return (ours.gateway_reference, ours.amount) == (theirs.gateway_reference, theirs.amount)


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
