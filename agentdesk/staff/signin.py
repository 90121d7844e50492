"""Signing in: django-axes counts failed sign-ins and locks them (settings: AXES_* beside
LOGIN_FAILURE_LIMIT); this module holds what axes asks of us, and unlocking."""

from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth.models import User
from django.http import HttpRequest

from agentdesk.shared.cards import scrub_card_numbers
from agentdesk.staff import audit
from agentdesk.staff.models import AuditEntry


def typed_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The username as typed, with any card number scrubbed (axes stores it)."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    return scrub_card_numbers(str(typed or ""))


def unlock(attempts: Iterable[AccessAttempt], *, by: User, request: HttpRequest) -> int:
    """Clear the failures of each (username, address) in `attempts`, and record who did.
    Returns how many were unlocked."""
    unlocked = 0
    for attempt in attempts:
        if reset(ip=attempt.ip_address, username=attempt.username):
            unlocked += 1
            audit.record(
                AuditEntry.Action.SIGN_IN_UNLOCKED,
                actor=by,
                target=attempt.username,
                request=request,
                address=attempt.ip_address,
                failures=attempt.failures_since_start,
            )
    return unlocked
