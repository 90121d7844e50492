"""customers.models: Customer and BillingAddress reject bad input with a clear message."""

import pytest
from django.core.exceptions import ValidationError

from customers.models import BillingAddress, Customer

pytestmark = pytest.mark.django_db


def errors_of(instance: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()  # type: ignore[attr-defined]
    return caught.value.message_dict


def test_valid_customer_without_crm_id() -> None:
    customer = Customer(first_name="Priya", last_name="Patel", email="p@example.com")
    customer.full_clean()
    customer.save()
    assert customer.crm_id is None


def test_blank_names_are_rejected() -> None:
    errors = errors_of(Customer(first_name="   ", last_name=""))
    assert errors["first_name"] == ["This field cannot be blank."]
    assert "last_name" in errors


def test_bad_email_and_phone_are_rejected() -> None:
    errors = errors_of(Customer(first_name="A", last_name="B", email="nope", phone="call me"))
    assert errors["email"] == ["Enter a valid email address."]
    assert "phone" in errors


def test_two_customers_without_crm_id_coexist() -> None:
    for name in ("A", "B"):
        customer = Customer(first_name=name, last_name="X", crm_id="")
        customer.full_clean()
        customer.save()
    assert Customer.objects.filter(crm_id__isnull=True).count() == 2


def address(**fields: str) -> BillingAddress:
    customer = Customer.objects.create(first_name="A", last_name="B")
    values = {"line1": "1 High Street", "city": "Leeds", "postcode": "LS1 4AP", "country": "GB"}
    values.update(fields)
    return BillingAddress(customer=customer, **values)


def test_valid_address_and_lowercase_country() -> None:
    billing = address(country="gb")
    billing.full_clean()
    assert billing.country == "GB"


def test_unknown_country_is_rejected() -> None:
    errors = errors_of(address(country="XX"))
    assert errors["country"] == [
        "'XX' is not an ISO 3166-1 alpha-2 country code (for example GB, US, DE)."
    ]


def test_us_address_needs_a_state_and_a_zip_code() -> None:
    errors = errors_of(address(country="US", postcode="ABC", state=""))
    assert errors["state"] == ["State is required for United States."]
    assert errors["postcode"] == [
        "This is not a valid postcode for United States (for example 94105 or 94105-1234)."
    ]


def test_country_without_postcodes_accepts_none() -> None:
    address(country="KW", postcode="").full_clean()


def test_blank_city_is_rejected() -> None:
    assert "city" in errors_of(address(city=" "))
