"""Small display helpers for the desk's templates."""

from decimal import Decimal

from django import template

from payments.money import MoneyError, format_major

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """12.4, "GBP" -> "12.40 GBP" (the currency's own decimals)."""
    if amount is None:
        return ""
    try:
        return f"{format_major(Decimal(amount), currency)} {currency}"
    except MoneyError:
        return f"{amount} {currency}"
