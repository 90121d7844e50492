"""Small display helpers for the desk's templates."""

from decimal import Decimal

from django import template

from agentdesk.shared.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """12.4, "GBP" -> "12.40 GBP" (the currency's own decimals)."""
    return format_money(amount, currency)
