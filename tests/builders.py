"""Small builder functions for test data: sensible defaults, override what the test is about."""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from agentdesk.models import ADMINISTRATORS, AGENTS, SUPERVISORS, Agent
from customers.models import BillingAddress, Customer
from payments.models import Order, Payment, PaymentFlow

__all__ = ["ADMINISTRATORS", "AGENTS", "SUPERVISORS"]

PASSWORD = "correct horse battery staple"


def agent_user(username: str = "agent1", *, vcc_agent_id: str = "1001") -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
    user.groups.add(Group.objects.get(name=AGENTS))
    Agent.objects.create(user=user, vcc_agent_id=vcc_agent_id)
    return user


def staff_user(username: str, group: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


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


def live_payment(
    *,
    for_order: Order | None = None,
    agent: Agent | None = None,
    started_ago: timedelta = timedelta(0),
    next_poll_in: timedelta | None = timedelta(0),
) -> Payment:
    """A payment whose VCC session is open, as start_payment leaves it (no VCC call made)."""
    if agent is None:
        agent = Agent.objects.first() or agent_user("agent1").agent
    now = timezone.now()
    return Payment.objects.create(
        order=for_order or order(),
        flow=PaymentFlow.objects.first() or flow(),
        agent=agent,
        state=Payment.State.IN_PROGRESS,
        session_guid=str(uuid.uuid4()),
        session_started_at=now - started_ago,
        next_poll_at=None if next_poll_in is None else now + next_poll_in,
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
