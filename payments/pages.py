"""The provider's page of a live attempt, and keeping it so its agent can reopen it.

A reload, a closed popup or a trip to another screen loses the page the start opened. Its URL
and two tokens are kept for the agent who started the attempt, in the shared cache only (never
the database, never a log), for the page's remaining lifetime (VCC_PAGE_LIFETIME from the
session's start), and handed back only to that agent while the attempt waits for the caller.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from agentdesk.staff.models import Agent
from payments.models import Payment


@dataclass(frozen=True)
class ProviderPage:
    """The provider's agent page of a live session and the two tokens that open it."""

    url: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class StartedPayment:
    """The attempt, and its provider page, whose tokens go to the agent's browser in this
    response and are kept only for its agent to reopen the page."""

    payment: Payment
    page: ProviderPage | None


def _key(payment: Payment) -> str:
    return f"payments:provider-page:{payment.pk}:{payment.agent_id}:{payment.session_guid}"


def page_until(payment: Payment) -> datetime:
    """When the provider's page of `payment` expires (VCC_PAGE_LIFETIME after its start)."""
    started = payment.session_started_at or payment.created_at
    return started + settings.VCC_PAGE_LIFETIME


def remaining_lifetime(payment: Payment) -> timedelta:
    """How long the provider's page of `payment` lives on (zero or less: it has expired)."""
    if payment.session_started_at is None:
        return timedelta(0)
    return page_until(payment) - timezone.now()


def keep_page(payment: Payment, page: ProviderPage) -> None:
    """Keep `page` for the agent who started `payment`, until the page expires."""
    seconds = int(remaining_lifetime(payment).total_seconds())
    if seconds > 0:
        cache.set(_key(payment), (page.url, page.access_token, page.refresh_token), seconds)


def kept_page(payment: Payment, agent: Agent) -> ProviderPage | None:
    """The page kept for `payment` when `agent` started it, it still waits for the caller and
    the page has not expired; else None."""
    if payment.agent_id != agent.pk or payment.state != Payment.State.IN_PROGRESS:
        return None
    if remaining_lifetime(payment) <= timedelta(0):
        return None
    kept = cache.get(_key(payment))
    return ProviderPage(*kept) if kept else None


def forget_page(payment: Payment) -> None:
    cache.delete(_key(payment))
