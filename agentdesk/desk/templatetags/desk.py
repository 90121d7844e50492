"""Small display helpers for the desk's templates."""

import math
from decimal import Decimal

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from agentdesk.desk import viewmodels
from agentdesk.shared.money import format_money
from payments.models import Order

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """12.4, "GBP" -> "12.40 GBP" (the currency's own decimals)."""
    return format_money(amount, currency)


@register.filter
def order_status(order: Order) -> str:
    """The order's status as the desk says it (an open order a payment blocks says so)."""
    return viewmodels.order_status(order)


@register.simple_tag
def opening_budget() -> int:
    """About how many seconds a start waits for VCC before it gives up (the client's connect
    and read timeouts of the session request)."""
    return math.ceil(settings.VCC_CONNECT_TIMEOUT + settings.VCC_READ_TIMEOUT)


@register.simple_tag
def sandbox_keypad(session_guid: str = "") -> str:
    """The built-in sandbox's caller keypad (one call's, or the list of calls) when the
    sandbox is enabled (development only), else ""."""
    if not settings.VCC_SANDBOX_ENABLED:
        return ""
    try:
        if session_guid:
            return reverse("sandbox:keypad", args=[session_guid])
        return reverse("sandbox:keypad-list")
    except NoReverseMatch:  # enabled after the URLs were loaded (a test's settings)
        return ""
