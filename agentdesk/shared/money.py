"""Money: a Decimal amount plus an ISO 4217 code, and the one helper pair that converts it to
and from minor units (JPY has 0 decimals, GBP 2, KWD 3)."""

from decimal import Decimal, InvalidOperation

from agentdesk.shared.currencies import CURRENCIES


class MoneyError(ValueError):
    """An amount or currency that cannot be used, with a message fit to show a person."""


def currency_exponent(currency: str) -> int:
    """The number of decimals of `currency`; raises MoneyError for an unknown code."""
    try:
        return CURRENCIES[currency.upper()][1]
    except KeyError:
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code.") from None


def check_amount(amount: Decimal, currency: str) -> None:
    """Raise MoneyError unless `amount` is positive and fits `currency`'s minor unit."""
    exponent = currency_exponent(currency)
    if not amount.is_finite() or amount <= 0:
        raise MoneyError("The amount must be greater than zero.")
    decimals = -int(amount.normalize().as_tuple().exponent)
    if decimals > exponent:
        if exponent == 0:
            raise MoneyError(f"{currency.upper()} has no decimals: use a whole amount.")
        raise MoneyError(f"{currency.upper()} allows at most {exponent} decimals.")


def to_minor_units(amount: Decimal, currency: str) -> int:
    """12.40 GBP -> 1240; 500 JPY -> 500; 1.234 KWD -> 1234."""
    check_amount(amount, currency)
    return int(amount.scaleb(currency_exponent(currency)))


def from_minor_units(minor: int | str, currency: str) -> Decimal:
    """'1240' GBP -> Decimal('12.40'); raises MoneyError for a value that is not a whole number."""
    try:
        value = int(str(minor).strip())
    except ValueError:
        raise MoneyError(f"{minor!r} is not an amount in minor units.") from None
    exponent = currency_exponent(currency)
    return Decimal(value).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_major(amount: Decimal, currency: str) -> str:
    """The amount as VCC's paymentData wants it: major units, the currency's decimals ('12.40')."""
    exponent = currency_exponent(currency)
    return str(amount.quantize(Decimal(1).scaleb(-exponent)))


def parse_amount(text: str) -> Decimal:
    """A Decimal from user or wire text; raises MoneyError for something that is not a number."""
    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise MoneyError(f"{text!r} is not an amount.") from None


def format_money(amount: Decimal | None, currency: str) -> str:
    """How an amount is shown to people: "12.40 GBP" (the currency's own decimals); "" for no
    amount, and the amount as stored when the currency is unknown."""
    if amount is None:
        return ""
    try:
        return f"{format_major(Decimal(amount), currency)} {currency}"
    except MoneyError:
        return f"{amount} {currency}"
