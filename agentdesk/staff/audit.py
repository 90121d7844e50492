"""The audit trail's one writer."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from agentdesk.shared.cards import scrub_card_numbers
from agentdesk.shared.text import fit
from agentdesk.staff.addresses import client_address
from agentdesk.staff.models import AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address, as django-axes sees it (agentdesk/staff/addresses.py: through
    TRUSTED_PROXIES only)."""
    return client_address(request)


def record(
    action: AuditEntry.Action,
    *,
    actor: User | AnonymousUser | None = None,
    actor_name: str = "",
    target: object = "",
    request: HttpRequest | None = None,
    **details: object,
) -> AuditEntry:
    """Append one entry: `actor` did `action` to `target`, with a few non-sensitive details.
    A card number typed where it does not belong (a username at sign-in) is scrubbed."""
    user = actor if isinstance(actor, User) else None
    name = actor_name or (user.get_username() if user else "")
    return AuditEntry.objects.create(
        actor=user,
        actor_name=fit(AuditEntry, "actor_name", scrub_card_numbers(name)),
        action=action,
        target=fit(AuditEntry, "target", "" if target is None else scrub_card_numbers(str(target))),
        ip_address=client_ip(request),
        details=_scrubbed(details),
    )


def _scrubbed(value: object) -> object:
    if isinstance(value, str):
        return scrub_card_numbers(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value
