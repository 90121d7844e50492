"""/desk/search/ and /desk/callers/open/: the one search box answers as the agent types, from
the configured CRM; a CRM that is slow or down gives a message, the local copy and the manual
path; opening a result puts the caller on screen."""

import time
from collections.abc import Iterator

import pytest
from django.test import Client

from customers import crm
from customers.models import Customer
from tests import builders
from tests.crm_server import TOKEN, closed_port_url, running_crm
from tests.desk.conftest import HTMX, WORKSPACE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def crm_not_marked_down() -> Iterator[None]:
    crm.breaker.reset()
    yield
    crm.breaker.reset()


def test_search_answers_with_matching_callers(agent_client: Client) -> None:
    priya = builders.customer(crm_id="CRM-1001")
    builders.customer(first_name="John", last_name="Smith", email="john@example.com")
    response = agent_client.get("/desk/search/", {"q": "pri"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Priya Patel" in html and "John Smith" not in html
    assert f'value="local:{priya.pk}"' in html
    assert "CRM-1001" in html and "Leeds, GB" in html
    assert "<html" not in html  # a fragment


def test_too_short_or_unmatched_queries(agent_client: Client) -> None:
    builders.customer()
    assert "Priya" not in agent_client.get("/desk/search/", {"q": "p"}, **HTMX).content.decode()
    response = agent_client.get("/desk/search/", {"q": "zebedee"}, **HTMX)
    assert "No caller matches “zebedee”." in response.content.decode()


def test_search_without_htmx_renders_the_whole_desk(agent_client: Client) -> None:
    builders.customer()
    html = agent_client.get("/desk/search/", {"q": "priya"}).content.decode()
    assert "<html" in html and "Priya Patel" in html and 'value="priya"' in html


def test_a_crm_that_is_down_answers_at_once_with_the_local_copy(
    agent_client: Client, settings
) -> None:
    builders.customer(crm_id="CRM-1001")
    settings.CRM_ADAPTER, settings.CRM_URL = "http", closed_port_url()
    began = time.monotonic()
    response = agent_client.get("/desk/search/", {"q": "priya"}, **HTMX)
    assert time.monotonic() - began < 2
    html = response.content.decode()
    assert response.status_code == 200
    assert "The CRM cannot be reached." in html
    assert "Callers opened before are shown from the local copy." in html
    assert "Priya Patel" in html
    assert "enter the caller by hand" in html


def test_opening_a_result_puts_the_caller_on_screen(agent_client: Client) -> None:
    priya = builders.customer()
    response = agent_client.post("/desk/callers/open/", {"key": f"local:{priya.pk}"}, **WORKSPACE)
    assert response.status_code == 200
    assert f'"path": "/desk/callers/{priya.pk}/"' in response.headers["HX-Location"]
    assert '"target": "#workspace"' in response.headers["HX-Location"]
    # Without htmx: a plain redirect.
    response = agent_client.post("/desk/callers/open/", {"key": f"local:{priya.pk}"})
    assert response.headers["Location"] == f"/desk/callers/{priya.pk}/"


def test_opening_a_crm_result_copies_the_customer(agent_client: Client, settings) -> None:
    record = {
        "id": "CRM-9",
        "first_name": "Hans",
        "last_name": "Müller",
        "billing_address": {
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postcode": "10117",
            "country": "DE",
        },
        "orders": [{"reference": "INV-9", "amount": "89.90", "currency": "EUR"}],
    }
    with running_crm([record]) as crm:
        settings.CRM_ADAPTER, settings.CRM_URL, settings.CRM_TOKEN = "http", crm.url, TOKEN
        found = agent_client.get("/desk/search/", {"q": "hans"}, **HTMX).content.decode()
        assert 'value="crm:CRM-9"' in found
        response = agent_client.post("/desk/callers/open/", {"key": "crm:CRM-9"}, **WORKSPACE)
    hans = Customer.objects.get(crm_id="CRM-9")
    assert f"/desk/callers/{hans.pk}/" in response.headers["HX-Location"]
    page = agent_client.get(f"/desk/callers/{hans.pk}/", **WORKSPACE).content.decode()
    assert "Hans Müller" in page and "INV-9" in page and "89.90 EUR" in page


def test_opening_fails_calmly_when_the_crm_went_down(agent_client: Client, settings) -> None:
    settings.CRM_ADAPTER, settings.CRM_URL = "http", closed_port_url()
    response = agent_client.post("/desk/callers/open/", {"key": "crm:CRM-9"}, **WORKSPACE)
    assert response.status_code == 200
    assert "The CRM cannot be reached." in response.content.decode()
    response = agent_client.post("/desk/callers/open/", {"key": "local:999999"}, **WORKSPACE)
    assert "no longer in the customer list" in response.content.decode()


def test_only_agents_search(supervisor_user, client: Client) -> None:
    response = client.get("/desk/search/", {"q": "priya"}, **HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login/?next=%2Fdesk%2F"
    client.force_login(supervisor_user)
    assert client.get("/desk/search/", {"q": "priya"}, **HTMX).status_code == 403


def test_a_match_by_order_reference_counts_every_open_order(agent_client: Client) -> None:
    priya = builders.customer()
    builders.order(customer=priya, reference="INV-7001")
    builders.order(customer=priya, reference="INV-7002")
    builders.order(customer=priya, reference="INV-7000", status="paid")
    html = agent_client.get("/desk/search/", {"q": "INV-7001"}, **HTMX).content.decode()
    assert "Priya Patel" in html and "2 open orders" in html


def test_a_search_by_order_reference_opens_that_order(agent_client: Client) -> None:
    priya = builders.customer()
    wanted = builders.order(customer=priya, reference="INV-7001")
    builders.order(customer=priya, reference="INV-7002")
    html = agent_client.get("/desk/search/", {"q": "inv-7001"}, **HTMX).content.decode()
    assert 'name="query" value="inv-7001"' in html
    opened = agent_client.post(
        "/desk/callers/open/", {"key": f"local:{priya.pk}", "query": "inv-7001"}, **WORKSPACE
    )
    assert f'"path": "/desk/orders/{wanted.pk}/"' in opened.headers["HX-Location"]
    by_name = agent_client.post(
        "/desk/callers/open/", {"key": f"local:{priya.pk}", "query": "Priya"}, **WORKSPACE
    )
    assert f'"path": "/desk/callers/{priya.pk}/"' in by_name.headers["HX-Location"]


@pytest.mark.parametrize("typed", ["07700 900123", "+44 7700 900123", "(0)7700-900123"])
def test_a_phone_number_finds_its_caller_however_it_is_typed(
    agent_client: Client, typed: str
) -> None:
    builders.customer(phone="+447700900123")
    html = agent_client.get("/desk/search/", {"q": typed}, **HTMX).content.decode()
    assert "Priya Patel" in html
