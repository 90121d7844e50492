"""Small builder functions for test data: sensible defaults, override what the test is about."""

import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agentdesk.staff.models import ADMINISTRATORS, AGENTS, SUPERVISORS, Agent
from customers.models import BillingAddress, Customer
from payments.models import Order, Payment, PaymentEvent, PaymentFlow, WebhookDelivery
from payments.vcc.types import PaymentResult, SessionStatus

__all__ = ["ADMINISTRATORS", "AGENTS", "SUPERVISORS"]

PASSWORD = "correct horse battery staple"


# The user admin page's Agent inline, left empty: what a browser posts when the section
# "agent at the desk" is not filled in.
NO_AGENT_INLINE = {
    "agent-TOTAL_FORMS": "0",
    "agent-INITIAL_FORMS": "0",
    "agent-MIN_NUM_FORMS": "0",
    "agent-MAX_NUM_FORMS": "1",
}


def agent_user(username: str = "agent1", *, vcc_agent_id: str = "1001") -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
    user.groups.add(Group.objects.get(name=AGENTS))
    Agent.objects.create(user=user, vcc_agent_id=vcc_agent_id)
    return user


def staff_user(username: str, group: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def signed_in(user: User, **defaults: Any) -> Client:
    """A test client signed in as `user` (`defaults` as for Client, e.g. REMOTE_ADDR)."""
    client = Client(**defaults)
    client.force_login(user)
    return client


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app holding `device`'s secret shows now (or that many time
    steps later: a code of the current step, once used, is refused as a replay)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def second_factor(user: User, *, recovery_codes: tuple[str, ...] = ()) -> TOTPDevice:
    """`user` with an authenticator set up (and these recovery codes), as enrolment leaves it."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in recovery_codes:
        StaticToken.objects.create(device=recovery, token=code)
    return device


def customer(**fields: Any) -> Customer:
    address = fields.pop("address", {})
    defaults: dict[str, Any] = {
        "first_name": "Priya",
        "last_name": "Patel",
        "email": "priya@example.com",
        "phone": "+441632960961",
    }
    defaults.update(fields)
    result = Customer.objects.create(**defaults)
    address_defaults = {
        "line1": "12 Acacia Avenue",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "GB",
    }
    address_defaults.update(address)
    BillingAddress.objects.create(customer=result, **address_defaults)
    return result


def order(**fields: Any) -> Order:
    defaults: dict[str, Any] = {"amount": Decimal("12.40"), "currency": "GBP"}
    defaults.update(fields)
    if "customer" not in defaults:
        defaults["customer"] = customer()
    return Order.objects.create(**defaults)


def flow(**fields: Any) -> PaymentFlow:
    defaults: dict[str, Any] = {
        "name": "Staging cards",
        "account": "builtin",
        "account_configuration_id": 1,
        "environment": PaymentFlow.Environment.STAGING,
        "is_default": True,
    }
    defaults.update(fields)
    return PaymentFlow.objects.create(**defaults)


def payment(*, created_at: datetime | None = None, **fields: Any) -> Payment:
    """An attempt on a new order (or `order`), by the first agent and the default flow, whose
    VCC session is open and waiting for the caller unless `state` says otherwise;
    `created_at` back-dates it (the column is set by the database on insert)."""
    defaults: dict[str, Any] = {"state": Payment.State.IN_PROGRESS}
    defaults.update(fields)
    if "order" not in defaults:
        defaults["order"] = order()
    if "flow" not in defaults:
        defaults["flow"] = PaymentFlow.objects.filter(is_default=True).first() or flow()
    if "agent" not in defaults:
        defaults["agent"] = (
            Agent.objects.order_by("pk").first() or agent_user("agent1", vcc_agent_id="1001").agent
        )
    if "session_guid" not in defaults:
        defaults["session_guid"] = str(uuid.uuid4())
    result = Payment.objects.create(**defaults)
    if created_at is not None:
        Payment.objects.filter(pk=result.pk).update(created_at=created_at)
        result.refresh_from_db()
    return result


def finished(
    session_guid: str,
    decision: str | None = "ACCEPT",
    *,
    amount: str | None = "12.40",
    currency: str = "GBP",
    reference: str = "GW-1",
) -> SessionStatus:
    """What VCC reports for a finished session: the gateway's decision, or none at all."""
    result = None
    if decision is not None:
        result = PaymentResult(
            decision=decision,
            reason_code="100" if decision == "ACCEPT" else "481",
            gateway_reference=reference,
            amount=Decimal(amount) if amount else None,
            currency=currency,
        )
    return SessionStatus(
        session_guid=session_guid, session_state="Finished", finished=True, result=result
    )


def payment_event(payment: Payment, **fields: Any) -> PaymentEvent:
    defaults: dict[str, Any] = {
        "source": PaymentEvent.Source.POLL,
        "kind": PaymentEvent.Kind.STATE_CHANGED,
        "from_state": Payment.State.IN_PROGRESS,
        "to_state": payment.state,
    }
    defaults.update(fields)
    return PaymentEvent.objects.create(payment=payment, **defaults)


def webhook_delivery(payment: Payment, **fields: Any) -> WebhookDelivery:
    defaults: dict[str, Any] = {
        "body": "{}",
        "session_guid": payment.session_guid or "",
        "status": WebhookDelivery.Status.PROCESSED,
    }
    defaults.update(fields)
    return WebhookDelivery.objects.create(payment=payment, **defaults)


def live_payment(
    *,
    started_ago: timedelta = timedelta(0),
    next_poll_in: timedelta | None = timedelta(0),
    **fields: Any,
) -> Payment:
    """A payment being polled, as start_payment leaves it: its session opened `started_ago`,
    its next read due in `next_poll_in` (None: no read wanted)."""
    now = timezone.now()
    return payment(
        session_started_at=now - started_ago,
        next_poll_at=None if next_poll_in is None else now + next_poll_in,
        **fields,
    )


def session_body(
    session_guid: str,
    *,
    state: str = "Finished",
    decision: str | None = "ACCEPT",
    amount_minor: str = "1240",
    request_id: str = "6461231231231231231231",
    **extra: Any,
) -> dict[str, Any]:
    """A body shaped like VCC's GET /v1/session/{guid} answer (and its webhook)."""
    body: dict[str, Any] = {
        "sessionGuid": session_guid,
        "callGuid": str(uuid.uuid4()),
        "createdOn": "2025-01-01T10:00:00Z",
        "lastUpdatedOn": "2025-01-01T10:02:00Z",
        "sessionState": state,
        "paymentResultData": None,
    }
    if decision is not None and state == "Finished":
        body["paymentResultData"] = {
            "decision": decision,
            "reasonCode": "100" if decision == "ACCEPT" else "202",
            "requestID": request_id,
            "Amount": amount_minor,
            "Currency": "GBP",
        }
    body.update(extra)
    return body
