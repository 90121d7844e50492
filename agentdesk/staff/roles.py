"""Who may do what: the three role groups and the questions views ask about a user."""

from django.contrib.auth.models import AnonymousUser, Permission, User
from django.db.models import Exists, OuterRef, Q

from agentdesk.staff.models import Agent


def agent_of(user: User | AnonymousUser) -> Agent | None:
    """The agent record of a signed-in user allowed to take payments (what
    `user.has_perm("payments.take_payment")` says: active, and a superuser or holding the
    permission itself or through a group), else None. One query: every desk request asks."""
    if not user.is_authenticated or not user.is_active:
        return None
    agents = Agent.objects.filter(user=user).select_related("user")
    if not user.is_superuser:
        holds = Permission.objects.filter(
            Q(user=OuterRef("user")) | Q(group__user=OuterRef("user")),
            codename="take_payment",
            content_type__app_label="payments",
        )
        agents = agents.filter(Exists(holds))
    return agents.first()


def is_agent(user: User | AnonymousUser) -> bool:
    return agent_of(user) is not None
