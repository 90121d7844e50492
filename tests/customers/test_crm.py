"""customers/crm.py and agentdesk.desk.services.open_caller: the built-in CRM searches our own
customers; the HTTP CRM is read over real HTTP (a local JSON server, tests/crm_server.py),
its customers copied locally when opened; a slow, down or broken CRM gives a clear message
and the local copy, fast."""

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from agentdesk.desk.services import open_caller
from customers import crm
from customers.crm import (
    BuiltinCrm,
    CallerNotFound,
    CrmUnavailable,
    HttpCrm,
    find_callers,
    get_crm,
)
from customers.models import Customer
from payments.models import Order
from tests import builders
from tests.crm_server import TOKEN, CrmServer, closed_port_url, running_crm

pytestmark = pytest.mark.django_db

PRIYA: dict[str, Any] = {
    "id": "CRM-7001",
    "first_name": "Priya",
    "last_name": "Patel",
    "email": "priya@example.com",
    "phone": "+44 1632 960961",
    "billing_address": {
        "line1": "12 Acacia Avenue",
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "gb",
    },
    "orders": [
        {"reference": "INV-7001", "amount": "49.99", "currency": "GBP", "description": "Renewal"},
        {"reference": "INV-7000", "amount": "10.00", "currency": "GBP", "status": "paid"},
        {"reference": "INV-BAD", "amount": "lots", "currency": "GBP"},
    ],
}
# The same shape with camelCase keys and no orders, as another CRM might send it.
JOHN: dict[str, Any] = {
    "customerId": 7002,
    "firstName": "John",
    "lastName": "Smith",
    "address": {
        "street1": "500 Market Street",
        "town": "San Francisco",
        "region": "CA",
        "zip": "94105",
        "countryCode": "US",
    },
}


@pytest.fixture(autouse=True)
def crm_not_marked_down() -> Iterator[None]:
    crm.breaker.reset()
    yield
    crm.breaker.reset()


@pytest.fixture
def crm_server(settings) -> Iterator[CrmServer]:
    with running_crm([PRIYA, JOHN, {"id": "CRM-BROKEN"}]) as server:
        settings.CRM_ADAPTER = "http"
        settings.CRM_URL = server.url
        settings.CRM_TOKEN = TOKEN
        settings.CRM_TIMEOUT = 0.5
        yield server


# --- Built-in ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Priya",
        "pat",
        "priya patel",
        "PRIYA@EXAMPLE",
        "+44 1632 960961",
        "1632960961",
        "DEMO-42",
        "crm-1",
        "Patel Priya",
    ],
)
def test_builtin_search_finds_by_name_phone_email_order_reference_and_crm_id(query: str) -> None:
    priya = builders.customer(crm_id="CRM-1")
    builders.order(customer=priya, reference="DEMO-42")
    builders.customer(first_name="John", last_name="Smith", email="j@example.com", phone="")
    matches = BuiltinCrm().search(query, limit=10)
    assert [m.name for m in matches] == ["Priya Patel"]
    assert matches[0].key == f"local:{priya.pk}"
    assert (matches[0].place, matches[0].open_orders) == ("Leeds, GB", 1)


def test_builtin_search_needs_two_characters_and_caps_the_results() -> None:
    for n in range(12):
        builders.customer(last_name=f"Patel{n}", email=f"p{n}@example.com")
    assert BuiltinCrm().search("p", limit=10) == []
    assert len(BuiltinCrm().search("priya", limit=10)) == 10


def test_builtin_is_the_default_adapter() -> None:
    assert isinstance(get_crm(), BuiltinCrm)


def test_opening_a_local_result_gives_our_customer() -> None:
    priya = builders.customer()
    assert open_caller(f"local:{priya.pk}", crm=BuiltinCrm()) == priya
    with pytest.raises(CallerNotFound):
        open_caller("local:999999", crm=BuiltinCrm())
    with pytest.raises(CallerNotFound):
        open_caller("nonsense", crm=BuiltinCrm())


# --- HTTP -------------------------------------------------------------------------------------


def test_http_search_sends_the_query_and_token_and_reads_both_shapes(crm_server) -> None:
    matches = get_crm().search("a", limit=10)
    assert [(m.key, m.name, m.place, m.open_orders) for m in matches] == [
        ("crm:CRM-7001", "Priya Patel", "Leeds, GB", 1),
        ("crm:7002", "John Smith", "San Francisco, US", 0),
    ]  # the record without names is left out
    path, query, auth = crm_server.requests[-1]
    assert (path, query["q"], auth) == ("/customers", ["a"], f"Bearer {TOKEN}")


def test_opening_a_crm_customer_keeps_a_local_copy(crm_server) -> None:
    customer = open_caller("crm:CRM-7001", crm=get_crm())
    assert crm_server.requests[-1][0] == "/customers/CRM-7001"
    assert (customer.crm_id, customer.full_name, customer.phone) == (
        "CRM-7001",
        "Priya Patel",
        "+441632960961",
    )
    assert str(customer.billing_address) == "12 Acacia Avenue, Leeds, LS1 4AP, GB"
    # Open orders only, and only those we can use.
    assert list(customer.orders.values_list("reference", "amount", "currency")) == [
        ("INV-7001", Decimal("49.9900"), "GBP")
    ]

    # Opened again after the CRM changed: the copy follows, orders are not duplicated.
    crm_server.customers[0] = {**PRIYA, "email": "priya.new@example.com"}
    again = open_caller("crm:CRM-7001", crm=get_crm())
    assert again.pk == customer.pk
    assert again.email == "priya.new@example.com"
    assert Order.objects.filter(reference="INV-7001").count() == 1

    john = open_caller("crm:7002", crm=get_crm())
    assert str(john.billing_address) == "500 Market Street, San Francisco, CA, 94105, US"


def test_a_customer_the_crm_no_longer_has(crm_server) -> None:
    with pytest.raises(CallerNotFound, match="no longer has"):
        open_caller("crm:CRM-GONE", crm=get_crm())
    assert crm.breaker.opened() is None  # not a CRM failure


def test_an_unusable_record_is_refused_with_a_reason(crm_server) -> None:
    with pytest.raises(CrmUnavailable, match="cannot be used"):
        open_caller("crm:CRM-BROKEN", crm=get_crm())
    assert not Customer.objects.exists()


def test_a_slow_crm_gives_up_within_its_timeout_and_falls_back_to_the_local_copy(
    crm_server,
) -> None:
    builders.customer(crm_id="CRM-7001")  # opened before: our local copy
    crm_server.mode, crm_server.delay = "slow", 3.0
    began = time.monotonic()
    result = find_callers("Priya")
    took = time.monotonic() - began
    assert took < 2.0
    assert result.problem == "The CRM did not answer within 0.5 s."
    assert [m.name for m in result.matches] == ["Priya Patel"]
    assert result.matches[0].key.startswith("local:")

    # While it is marked down, searches do not wait for it again.
    asked = len(crm_server.requests)
    began = time.monotonic()
    assert find_callers("Priya").problem == "The CRM did not answer within 0.5 s."
    assert time.monotonic() - began < 0.3
    assert len(crm_server.requests) == asked


@pytest.mark.parametrize(
    ("mode", "token", "message"),
    [
        ("error", TOKEN, "The CRM answered with an error (500)."),
        ("garbage", TOKEN, "The CRM answered something the desk cannot read."),
        ("ok", "wrong", "The CRM refused the desk's token (CRM_TOKEN)."),
    ],
)
def test_a_failing_crm_says_why(crm_server, settings, mode: str, token: str, message: str) -> None:
    crm_server.mode = mode
    settings.CRM_TOKEN = token
    assert find_callers("Priya").problem == message
    with pytest.raises(CrmUnavailable, match=r"\(|cannot|refused"):
        open_caller("crm:CRM-7001", crm=get_crm())


def test_a_crm_that_is_down(settings) -> None:
    settings.CRM_ADAPTER, settings.CRM_URL = "http", closed_port_url()
    result = find_callers("Priya")
    assert result == type(result)([], "The CRM cannot be reached.")


def test_http_adapter_configuration_is_checked(settings) -> None:
    settings.CRM_ADAPTER, settings.CRM_URL = "http", ""
    with pytest.raises(SystemCheckError, match="CRM_ADAPTER=http needs CRM_URL"):
        call_command("check")
    settings.CRM_ADAPTER = "salesforce"
    with pytest.raises(SystemCheckError, match="CRM_ADAPTER must be"):
        call_command("check")


def test_adapter_is_an_http_crm_when_configured(crm_server) -> None:
    crm = get_crm()
    assert isinstance(crm, HttpCrm)
    assert (crm.url, crm.timeout) == (crm_server.url, 0.5)
