"""What happens to a sandbox session: opened by the Payment API, keyed on the caller's keypad,
submitted on the agent page (or driven by the control API), finished with a gateway answer,
delivered by webhook, purged after the retention time.

Keyed digits never leave this module except as a count of masked characters, and are dropped
when the session finishes or its page expires.
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agentdesk.shared.money import MoneyError, parse_amount, to_minor_units
from payments.vcc.sandbox import cards
from payments.vcc.sandbox.clients import SandboxClient
from payments.vcc.sandbox.models import Knobs, Session, WebhookDelivery

Step = Session.Step
State = Session.State

KEYS = frozenset("0123456789*#")
LINK_LIFETIME = timedelta(hours=72)
# The digits each keying step collects, and how many at most.
STEP_FIELDS = {
    Step.CARD_NUMBER: "card_number",
    Step.EXPIRY: "expiry",
    Step.SECURITY_CODE: "security_code",
}
MAX_DIGITS = {"card_number": 19, "expiry": 4, "security_code": 4}
# What the caller hears at each step.
PROMPTS = {
    Step.CARD_NUMBER: "Key the card number, then #.",
    Step.EXPIRY: "Key the expiry date as month and year (MMYY), then #.",
    Step.SECURITY_CODE: "Key the security code from the back of the card, then #.",
    Step.READY: "Thank you. Please hold while the agent submits the payment.",
    Step.DONE: "This payment call has ended.",
}
# Keys the contract does not know, added to every answer when the extra_keys knob is on.
EXTRA_KEYS = {"sandboxNote": "unknown keys must be ignored", "Unexpected_Number": 42}


class SandboxRefused(Exception):
    """The sandbox refuses the action; `str()` says why, `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_session(
    *,
    client: SandboxClient,
    kind: str,
    agent_id: str,
    payment_data: dict[str, Any],
    configuration_id: int | None,
    skip_call_transfer: bool,
) -> Session:
    knobs = Knobs.current()
    now = timezone.now()
    return Session.objects.create(
        kind=kind,
        client_id=client.client_id,
        account=client.account,
        account_configuration_id=configuration_id,
        agent_id=agent_id,
        skip_call_transfer=skip_call_transfer,
        payment_data=payment_data,
        agent_access_token=new_secret(),
        agent_refresh_token=new_secret(),
        created_on=now,
        last_updated_on=now,
        # A payment link lives 72 hours (VCC's documented lifetime), an agent page minutes.
        page_expires_at=now
        + (
            LINK_LIFETIME
            if kind == Session.Kind.DIGITAL
            else timedelta(seconds=knobs.page_lifetime_seconds)
        ),
        prompt=PROMPTS[Step.CARD_NUMBER],
    )


def find(guid: str | uuid.UUID, *, client_id: str | None = None, lock: bool = False) -> Session:
    """The session `guid` (of that API client when given); SandboxRefused 404 otherwise."""
    try:
        key = guid if isinstance(guid, uuid.UUID) else uuid.UUID(str(guid))
    except ValueError:
        raise SandboxRefused("Session not found.", 404) from None
    sessions = Session.objects.select_for_update() if lock else Session.objects.all()
    if client_id is not None:
        sessions = sessions.filter(client_id=client_id)
    session = sessions.filter(guid=key).first()
    if session is None:
        raise SandboxRefused("Session not found.", 404)
    return session


def session_body(session: Session, *, extra_keys: bool = False) -> dict[str, Any]:
    """The GET /v1/session/{guid} answer, which is also the webhook's body."""
    result = session.result
    if result is not None and extra_keys:
        result = {**result, "vendorSpecific": {"note": "ignored by a tolerant client"}}
    body: dict[str, Any] = {
        "sessionGuid": str(session.guid),
        "callGuid": str(session.call_guid),
        "providerSessionGuid": str(session.provider_session_guid),
        "createdOn": iso(session.created_on),
        "lastUpdatedOn": iso(session.last_updated_on),
        "sessionState": session.reported_state or session.state,
        "paymentResultData": result,
    }
    if extra_keys:
        body.update(EXTRA_KEYS)
    return body


def payment_data_value(data: dict[str, Any], key: str) -> str:
    """A paymentData value by key, whatever its case."""
    for name, value in data.items():
        if name.lower() == key:
            return str(value)
    return ""


def gateway_result(
    session: Session, answer: cards.Outcome, *, amount_minor: int | None, request_id: str = ""
) -> dict[str, Any]:
    """paymentResultData: the paymentData echoed, with the gateway's decision and the amount
    in minor units as a string."""
    data = session.payment_data or {}
    currency = payment_data_value(data, "currency").upper()
    result: dict[str, Any] = {k: v for k, v in data.items() if k.lower() != "amount"}
    if amount_minor is None:
        try:
            amount: Decimal = parse_amount(payment_data_value(data, "amount"))
            amount_minor = to_minor_units(amount, currency)
        except MoneyError:
            amount_minor = None
    if amount_minor is not None:
        result["Amount"] = str(amount_minor)
    result.update(
        {
            "decision": answer.decision,
            "reasonCode": answer.reason_code,
            "requestID": request_id or "".join(str(secrets.randbelow(10)) for _ in range(22)),
            "requestToken": secrets.token_urlsafe(24),
            "transactionType": "sale",
        }
    )
    if currency:
        result["Currency"] = currency
    if session.card_brand:
        result["cardType"] = session.card_brand
    return result


def finish(
    session: Session, outcome: str, *, amount_minor: int | None = None, request_id: str = ""
) -> Session:
    """Finish a locked session with `outcome` (a name of cards.OUTCOMES): the result is set,
    the keyed digits dropped, the webhook queued."""
    if outcome not in cards.OUTCOMES:
        raise SandboxRefused(f"Unknown outcome; use one of {', '.join(cards.OUTCOMES)}.", 400)
    if session.is_finished:
        raise SandboxRefused("This session has already finished.")
    answer = cards.OUTCOMES[outcome]
    session.result = (
        None
        if answer is None
        else gateway_result(session, answer, amount_minor=amount_minor, request_id=request_id)
    )
    now = timezone.now()
    session.state = State.FINISHED
    session.reported_state = ""
    session.step = Step.DONE
    session.prompt = PROMPTS[Step.DONE]
    session.drop_keyed_digits()
    session.finished_on = session.last_updated_on = now
    session.save()
    knobs = Knobs.current()
    WebhookDelivery.objects.create(
        session=session,
        body=session_body(session, extra_keys=knobs.extra_keys),
        status=WebhookDelivery.Status.PENDING if knobs.webhooks else WebhookDelivery.Status.OFF,
        created_at=now,
        next_attempt_at=now,
    )
    from payments.vcc.sandbox.webhooks import dispatcher

    transaction.on_commit(dispatcher.ensure_running)
    return session


def complete(
    guid: str, outcome: str, *, amount_minor: int | None = None, request_id: str = ""
) -> Session:
    """Drive a session to `outcome` without a browser (control API, caller's hang-up);
    `request_id` sets the gateway's transaction id (random otherwise)."""
    with transaction.atomic():
        return finish(
            find(guid, lock=True), outcome, amount_minor=amount_minor, request_id=request_id
        )


def start_progress(guid: str, *, reported_state: str = "") -> Session:
    """The caller has started keying: InProgress (or `reported_state`, for tolerance tests)."""
    with transaction.atomic():
        session = find(guid, lock=True)
        if session.is_finished:
            raise SandboxRefused("This session has already finished.")
        session.state = State.IN_PROGRESS
        session.reported_state = reported_state[:40]
        session.last_updated_on = timezone.now()
        session.save()
        return session


def press(guid: str, key: str) -> Session:
    """The caller presses `key` on the phone: a digit is added to the current step, `*`
    clears it, `#` ends it (checking the card number, expiry or security code)."""
    if key not in KEYS or len(key) != 1:
        raise SandboxRefused("Press 0-9, * or #.", 400)
    with transaction.atomic():
        session = find(guid, lock=True)
        if not session.is_live:
            raise SandboxRefused("This payment call has ended or its page has expired.")
        if session.state == State.CREATED:
            session.state = State.IN_PROGRESS
        field = STEP_FIELDS.get(Step(session.step))
        if field is None:  # ready: only * (re-key the security code) does anything
            if key == "*":
                session.step, session.security_code = Step.SECURITY_CODE, ""
                session.prompt = PROMPTS[Step.SECURITY_CODE]
        elif key == "*":
            setattr(session, field, "")
            session.prompt = PROMPTS[Step(session.step)]
        elif key == "#":
            _end_step(session, field)
        elif len(getattr(session, field)) < MAX_DIGITS[field]:
            setattr(session, field, getattr(session, field) + key)
        session.last_updated_on = timezone.now()
        session.save()
        return session


def _end_step(session: Session, field: str) -> None:
    value: str = getattr(session, field)
    problem = ""
    if field == "card_number":
        if cards.luhn_valid(value):
            session.card_brand = cards.card_brand(value)
        else:
            problem = "That is not a valid card number. Key it again, then #."
    elif field == "expiry":
        problem = cards.expiry_problem(value, timezone.now())
    else:
        needed = cards.security_code_length(session.card_number)
        if len(value) != needed:
            problem = f"Key the {needed}-digit security code, then #."
    if problem:
        setattr(session, field, "")
        session.prompt = problem
        return
    order = list(STEP_FIELDS)
    position = order.index(Step(session.step))
    session.step = order[position + 1] if position + 1 < len(order) else Step.READY
    session.prompt = PROMPTS[Step(session.step)]


def submit(session: Session) -> Session:
    """The agent presses the provider page's Submit: the gateway answers per the test card."""
    with transaction.atomic():
        session = find(session.guid, lock=True)
        if session.is_finished:
            raise SandboxRefused("This payment has already been submitted.")
        if session.page_expired:
            raise SandboxRefused("This payment page has expired.")
        if session.step != Step.READY:
            raise SandboxRefused("The caller has not finished keying the card details.")
        return finish(session, cards.card_outcome(session.card_number))


def expire_page(guid: str) -> Session:
    with transaction.atomic():
        session = find(guid, lock=True)
        session.page_expires_at = timezone.now()
        session.drop_keyed_digits()
        session.save()
        return session


def purge(guid: str) -> Session:
    """The result is gone now, as VCC's retention time would make it."""
    with transaction.atomic():
        session = find(guid, lock=True)
        _purge(Session.objects.filter(pk=session.pk))
        session.refresh_from_db()
        return session


def purge_due() -> None:
    """Forget results older than the retention time, and digits keyed on expired pages."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=Knobs.current().retention_seconds)
    _purge(Session.objects.filter(state=State.FINISHED, finished_on__lte=cutoff))
    # An unused payment link is forgotten as a result is, counted from the link's end.
    _purge(Session.objects.filter(kind=Session.Kind.DIGITAL, page_expires_at__lte=cutoff))
    Session.objects.filter(page_expires_at__lte=now).exclude(
        card_number="", expiry="", security_code=""
    ).update(card_number="", expiry="", security_code="")


def _purge(sessions: QuerySet[Session]) -> None:
    sessions.filter(purged_at__isnull=True).update(
        purged_at=timezone.now(),
        result=None,
        payment_data={},
        card_number="",
        expiry="",
        security_code="",
    )


def masked(session: Session) -> dict[str, str]:
    """The keyed digits as the agent page shows them: one dot per digit."""
    return {field: "•" * len(getattr(session, field)) for field in MAX_DIGITS}
