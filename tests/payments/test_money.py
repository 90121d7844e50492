"""agentdesk.shared.money and Order validation: amounts respect each currency's minor unit."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from agentdesk.shared.money import MoneyError, format_major, from_minor_units, to_minor_units
from payments.models import Order
from tests import builders


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.40", "GBP", 1240), ("5400", "JPY", 5400), ("12.345", "KWD", 12345), ("0.01", "usd", 1)],
)
def test_minor_units_round_trip(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(Decimal(amount), currency) == minor
    assert from_minor_units(str(minor), currency) == Decimal(amount)


def test_major_format_has_the_currency_decimals() -> None:
    assert format_major(Decimal("12.4"), "GBP") == "12.40"
    assert format_major(Decimal("5400"), "JPY") == "5400"
    assert format_major(Decimal("1.2"), "KWD") == "1.200"


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("0", "GBP", "The amount must be greater than zero."),
        ("-5", "GBP", "The amount must be greater than zero."),
        ("12.345", "GBP", "GBP allows at most 2 decimals."),
        ("10.5", "JPY", "JPY has no decimals: use a whole amount."),
        ("1.2345", "KWD", "KWD allows at most 3 decimals."),
        ("10", "ABC", "'ABC' is not an ISO 4217 currency code."),
    ],
)
def test_bad_amounts_are_refused(amount: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        to_minor_units(Decimal(amount), currency)


def test_minor_units_must_be_whole() -> None:
    with pytest.raises(MoneyError):
        from_minor_units("12.40", "GBP")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "currency", "field", "message"),
    [
        ("0", "GBP", "amount", "The amount must be greater than zero."),
        ("-1.00", "EUR", "amount", "The amount must be greater than zero."),
        ("1.234", "GBP", "amount", "GBP allows at most 2 decimals."),
        ("100.5", "JPY", "amount", "JPY has no decimals: use a whole amount."),
        ("10", "XYZ", "currency", "'XYZ' is not an ISO 4217 currency code."),
    ],
)
def test_order_validation(amount: str, currency: str, field: str, message: str) -> None:
    order = Order(customer=builders.customer(), amount=Decimal(amount), currency=currency)
    with pytest.raises(ValidationError) as caught:
        order.full_clean()
    assert caught.value.message_dict[field] == [message]


@pytest.mark.django_db
def test_order_reference_is_generated_and_unique() -> None:
    first, second = builders.order(), builders.order()
    assert first.reference.startswith("PAY-") and len(first.reference) == 12
    assert first.reference != second.reference


@pytest.mark.django_db
def test_kwd_order_with_three_decimals_is_valid() -> None:
    order = Order(customer=builders.customer(), amount=Decimal("12.345"), currency="kwd")
    order.full_clean()
    assert order.currency == "KWD"
