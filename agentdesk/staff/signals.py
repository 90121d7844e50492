"""Sign-in, sign-out and failed sign-in go to the audit trail (connected in AgentdeskConfig)."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from agentdesk.staff import audit
from agentdesk.staff.models import AuditEntry


def signed_in(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit.record(AuditEntry.Action.SIGN_IN, actor=user, request=request)


def signed_out(
    sender: object, request: HttpRequest | None, user: User | AnonymousUser | None, **kwargs: Any
) -> None:
    audit.record(AuditEntry.Action.SIGN_OUT, actor=user, request=request)


def sign_in_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in `credentials`; only the username is kept.
    username = str(credentials.get("username", ""))
    audit.record(AuditEntry.Action.SIGN_IN_FAILED, actor_name=username, request=request)
