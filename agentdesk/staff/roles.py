"""Who may do what: the three role groups and the questions views ask about a user."""

from django.contrib.auth.models import AnonymousUser, User

from agentdesk.staff.models import Agent


def agent_of(user: User | AnonymousUser) -> Agent | None:
    """The agent record of a signed-in user allowed to take payments, else None."""
    if not user.is_authenticated or not user.has_perm("payments.take_payment"):
        return None
    return Agent.objects.filter(user=user).select_related("user").first()


def is_agent(user: User | AnonymousUser) -> bool:
    return agent_of(user) is not None
