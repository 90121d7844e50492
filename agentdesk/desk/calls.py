"""The call the desk was opened for by a screen pop (/desk/call?ani=…&call=…), remembered in
the agent's session so that the payments taken for that caller carry its interaction id.

The call belongs to the caller the pop found when it found exactly one; otherwise to the first
caller the agent then opens or enters by hand. A new pop replaces it (an agent takes one call
at a time)."""

from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "desk_call"
# Longer is not an interaction id: the contact centre's ids are GUIDs or short numbers.
MAX_INTERACTION_ID = 100


@dataclass(frozen=True)
class Call:
    interaction_id: str
    number: str  # the caller's number in E.164, or "" when withheld or unreadable
    customer_id: int | None  # None until the call's caller is known


def remember(session: SessionBase, call: Call) -> None:
    session[SESSION_KEY] = {
        "interaction_id": call.interaction_id,
        "number": call.number,
        "customer_id": call.customer_id,
    }


def current(session: SessionBase) -> Call | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not data.get("interaction_id"):
        return None
    customer_id = data.get("customer_id")
    return Call(
        str(data["interaction_id"]),
        str(data.get("number") or ""),
        customer_id if isinstance(customer_id, int) else None,
    )


def caller_opened(session: SessionBase, customer_id: int) -> None:
    """The agent opened or entered a caller: the call's caller, if it was not known yet."""
    call = current(session)
    if call is not None and call.customer_id is None:
        remember(session, Call(call.interaction_id, call.number, customer_id))


def interaction_for(session: SessionBase, customer_id: int) -> str:
    """The interaction id a payment for `customer_id` carries: the current call's when it is
    that caller's, else ''."""
    call = current(session)
    return call.interaction_id if call is not None and call.customer_id == customer_id else ""
