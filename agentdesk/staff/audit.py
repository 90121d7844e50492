"""The audit trail's one writer."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from agentdesk.shared.text import fit
from agentdesk.staff.models import AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the proxy saw it (gunicorn applies FORWARDED_ALLOW_IPS)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: AuditEntry.Action,
    *,
    actor: User | AnonymousUser | None = None,
    actor_name: str = "",
    target: object = "",
    request: HttpRequest | None = None,
    **details: object,
) -> AuditEntry:
    """Append one entry: `actor` did `action` to `target`, with a few non-sensitive details."""
    user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=fit(
            AuditEntry, "actor_name", actor_name or (user.get_username() if user else "")
        ),
        action=action,
        target=fit(AuditEntry, "target", target),
        ip_address=client_ip(request),
        details=details,
    )
