"""Small display helpers for the desk's templates."""

from decimal import Decimal

from django import template

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
