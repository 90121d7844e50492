"""/desk/callers/new/ and /desk/address-fields/: a caller typed in by hand with their billing
address and order; every field checked with its message beside it, nothing typed lost on an
error; the state and postcode fields follow the country."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from customers.models import Customer
from payments.models import Order
from tests import builders
from tests.desk.conftest import HTMX, WORKSPACE

pytestmark = pytest.mark.django_db

GOOD = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0018",
    "line1": "10 St James's Square",
    "line2": "",
    "city": "London",
    "state": "",
    "postcode": "sw1y 4ln",
    "country": "GB",
    "reference": "",
    "amount": "25.00",
    "currency": "GBP",
    "description": "Membership",
}


def error_next_to(html: str, field: str) -> str:
    """The message shown under `field`'s input."""
    found = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', html)
    assert found, f"no message next to {field}"
    return found.group(1)


def test_the_form_preselects_the_configured_country_and_currency(agent_client: Client) -> None:
    html = agent_client.get("/desk/callers/new/", **WORKSPACE).content.decode()
    assert '<option value="GB" selected>United Kingdom</option>' in html
    assert '<option value="GBP" selected>GBP · Pound Sterling</option>' in html
    assert "novalidate" in html  # every message comes from the server, next to its field


def test_a_caller_typed_in_is_saved_with_address_and_order(agent_client: Client) -> None:
    response = agent_client.post("/desk/callers/new/", GOOD, **WORKSPACE)
    assert response.status_code == 200
    order = Order.objects.get()
    assert f'"path": "/desk/orders/{order.pk}/"' in response.headers["HX-Location"]
    assert order.reference.startswith("PAY-") and len(order.reference) == 12
    assert (order.amount, order.currency, order.description) == (Decimal("25"), "GBP", "Membership")
    ada = order.customer
    assert (ada.full_name, ada.phone, ada.crm_id) == ("Ada Lovelace", "+442079460018", None)
    assert str(ada.billing_address) == "10 St James's Square, London, SW1Y 4LN, GB"


def test_errors_are_shown_beside_their_fields_and_nothing_typed_is_lost(
    agent_client: Client,
) -> None:
    typed = {
        **GOOD,
        "first_name": " ",
        "email": "ada-at-example",
        "country": "US",
        "postcode": "123",
        "amount": "12.345",
        "currency": "USD",
    }
    response = agent_client.post("/desk/callers/new/", typed, **WORKSPACE)
    assert response.status_code == 200  # htmx swaps 200s: the errors appear in place
    html = response.content.decode()
    assert error_next_to(html, "first_name") == "This field is required."
    assert error_next_to(html, "email") == "Enter a valid email address."
    assert error_next_to(html, "state") == "State is required for United States."
    assert error_next_to(html, "postcode") == (
        "This is not a valid postcode for United States (for example 94105 or 94105-1234)."
    )
    assert error_next_to(html, "amount") == "USD allows at most 2 decimals."
    for field in ("last_name", "line1", "city", "currency", "reference"):
        assert f'id="id_{field}_error"' not in html
    # What the agent typed is all still there.
    for value in (
        "Lovelace",
        "ada-at-example",
        "10 St James&#x27;s Square",
        "London",
        "12.345",
        "Membership",
        "+44 20 7946 0018",
    ):
        assert f'value="{value}"' in html, value
    assert '<option value="US" selected>United States</option>' in html
    assert '<option value="USD" selected>' in html
    assert not Customer.objects.exists() and not Order.objects.exists()


def test_a_reference_already_used_is_refused_beside_the_field(agent_client: Client) -> None:
    builders.order(reference="INV-1")
    html = agent_client.post(
        "/desk/callers/new/", {**GOOD, "reference": "INV-1"}, **WORKSPACE
    ).content.decode()
    assert error_next_to(html, "reference") == "Order with this Payment reference already exists."
    assert Customer.objects.count() == 1


def test_correcting_the_error_saves(agent_client: Client) -> None:
    agent_client.post("/desk/callers/new/", {**GOOD, "amount": "0"}, **WORKSPACE)
    assert not Order.objects.exists()
    response = agent_client.post("/desk/callers/new/", GOOD, **WORKSPACE)
    assert "HX-Location" in response.headers
    assert Order.objects.count() == 1


def test_without_htmx_the_page_redirects_to_the_order(agent_client: Client) -> None:
    response = agent_client.post("/desk/callers/new/", GOOD)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/desk/orders/{Order.objects.get().pk}/"


def test_state_and_postcode_follow_the_country(agent_client: Client) -> None:
    response = agent_client.post(
        "/desk/address-fields/", {"country": "US", "state": "CA", "postcode": "94105"}, **HTMX
    )
    html = response.content.decode()
    assert html.strip().startswith('<div id="address-region"')
    assert re.search(r'<label for="id_state">State<span class="req"', html)
    assert re.search(r'<label for="id_postcode">Postcode<span class="req"', html)
    assert "For example 94105 or 94105-1234." in html
    assert 'value="CA"' in html and 'value="94105"' in html

    html = agent_client.post("/desk/address-fields/", {"country": "HK"}, **HTMX).content.decode()
    assert '<label for="id_state">District</label>' in html
    assert '<label for="id_postcode">Postcode</label>' in html


def test_a_phone_is_stored_as_e164_or_refused_with_a_hint(agent_client: Client) -> None:
    html = agent_client.post(
        "/desk/callers/new/", {**GOOD, "phone": "+999 123456"}, **WORKSPACE
    ).content.decode()
    assert "Enter a phone number with its country code, e.g. +44 1632 960961" in html
    assert not Order.objects.exists()
    agent_client.post("/desk/callers/new/", {**GOOD, "phone": "07700 900123"}, **WORKSPACE)
    assert Order.objects.get().customer.phone == "+447700900123"
