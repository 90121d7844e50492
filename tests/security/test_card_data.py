"""No card data typed in: every free-text field on the desk (/desk/callers/new/, an order's
details) and in admin (the resolution reason, users, agents, flows) and every search box (the
desk's /desk/search/, admin's lists) refuses a card number with one message and saves or looks
up nothing; the CSV export's filters in the audit trail hold none; gunicorn's access log
carries no query string."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agentdesk import gunicorn
from agentdesk.shared.cards import (
    CARD_NUMBER_MESSAGE,
    contains_card_number,
    scrub_card_numbers,
)
from agentdesk.staff.models import AuditEntry
from customers.models import Customer
from payments.models import Order
from tests import builders
from tests.desk.conftest import HTMX, WORKSPACE
from tests.desk.test_manual_entry import GOOD

pytestmark = pytest.mark.django_db

# Sandbox test numbers (Visa, Mastercard, Amex), written as a caller might read them out.
TYPED_CARDS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "3782.822463.10005",
    "card 4111 1111 1111 1111 exp 12/39 cvv 737",
]
NOT_CARDS = [
    "+44 20 7946 0018",
    "PAY-1234",
    "2026-12-01 04:28:57",
    "4111111111111112",
    "Flat 12, 3 Ash Rd",
    "session 41111111-1111-1111-1111-111111111111",
]


@pytest.mark.parametrize("text", TYPED_CARDS)
def test_a_card_number_is_found_however_it_is_written(text: str) -> None:
    assert contains_card_number(text)
    assert "1111" not in scrub_card_numbers(text).replace("12/39", "")


@pytest.mark.parametrize("text", NOT_CARDS)
def test_phone_numbers_references_and_dates_are_not_card_numbers(text: str) -> None:
    assert not contains_card_number(text)


FIELDS = ["first_name", "last_name", "line1", "line2", "city", "description", "reference", "phone"]


@pytest.mark.parametrize("field", FIELDS)
def test_desk_free_text_fields_refuse_a_card_number(agent_client: Client, field: str) -> None:
    response = agent_client.post(
        "/desk/callers/new/", {**GOOD, field: "4111 1111 1111 1111"}, **WORKSPACE
    )
    assert response.status_code == 200
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_desk_email_refuses_a_card_number(agent_client: Client) -> None:
    response = agent_client.post(
        "/desk/callers/new/", {**GOOD, "email": "4111111111111111@example.com"}, **WORKSPACE
    )
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    assert not Customer.objects.exists()


def test_editing_an_order_refuses_a_card_number(agent_client: Client) -> None:
    order = builders.order(description="Membership")
    response = agent_client.post(
        f"/desk/orders/{order.pk}/details/",
        {**GOOD, "description": "4111 1111 1111 1111 exp 12/39 cvv 737"},
        **WORKSPACE,
    )
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    order.refresh_from_db()
    assert order.description == "Membership"


@pytest.mark.parametrize("typed", TYPED_CARDS)
def test_desk_search_refuses_a_card_number_and_echoes_nothing(
    agent_client: Client, typed: str
) -> None:
    builders.customer()
    html = agent_client.get("/desk/search/", {"q": typed}, **HTMX).content.decode()
    assert CARD_NUMBER_MESSAGE in html
    assert "1111" not in html and "4444" not in html and "10005" not in html
    assert "Priya" not in html
    assert not AuditEntry.objects.filter(details__icontains="1111").exists()


def test_desk_search_still_finds_by_phone(agent_client: Client) -> None:
    builders.customer(first_name="Priya", phone="+441632960961")
    html = agent_client.get("/desk/search/", {"q": "pri"}, **HTMX).content.decode()
    assert CARD_NUMBER_MESSAGE not in html and "Priya" in html


ADMIN_LISTS = [
    "/admin/payments/payment/",
    "/admin/payments/order/",
    "/admin/customers/customer/",
    "/admin/agentdesk/auditentry/",
]


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_admin_searches_refuse_a_card_number(supervisor_client: Client, url: str) -> None:
    response = supervisor_client.get(url, {"q": "4111 1111 1111 1111", "o": "1"})
    assert response.status_code == 302
    assert "4111" not in response.headers["Location"]
    assert response.headers["Location"].endswith("?o=1"), "the rest of the query stays"
    page = supervisor_client.get(response.headers["Location"], follow=True).content.decode()
    assert CARD_NUMBER_MESSAGE in page
    assert "4111" not in page


def test_admin_user_search_refuses_a_card_number(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    response = client.get("/admin/auth/user/", {"q": "4111111111111111"}, follow=True)
    assert CARD_NUMBER_MESSAGE in response.content.decode()


def test_an_export_searching_a_card_number_is_refused_and_not_audited(
    supervisor_client: Client,
) -> None:
    builders.payment()
    response = supervisor_client.post("/admin/payments/payment/export/?q=4111111111111111")
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENTS_EXPORTED).exists()


def test_export_filters_in_the_audit_trail_hold_no_card_number(supervisor_client: Client) -> None:
    builders.payment()
    response = supervisor_client.post(
        "/admin/payments/payment/export/?currency=4111-1111-1111-1111"
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PAYMENTS_EXPORTED)
    assert "4111" not in str(entry.details)


def test_a_resolution_reason_holding_a_card_number_is_refused(supervisor_user: User) -> None:
    payment = builders.payment(state="unknown")
    client = builders.signed_in(supervisor_user)
    response = client.post(
        f"/admin/payments/payment/{payment.pk}/resolve/",
        {"outcome": "approved", "reason": "caller read 4111 1111 1111 1111 to me"},
    )
    assert response.status_code == 200
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    payment.refresh_from_db()
    assert payment.state == "unknown" and not payment.resolution_reason


def test_admin_free_text_refuses_a_card_number(administrator_user: User, agent_user: User) -> None:
    client = builders.signed_in(administrator_user)
    agent = agent_user.agent
    response = client.post(
        f"/admin/agentdesk/agent/{agent.pk}/change/",
        {"user": agent_user.pk, "vcc_agent_id": "4111111111111111"},
    )
    assert response.status_code == 200
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    agent.refresh_from_db()
    assert agent.vcc_agent_id == "1001"


def test_a_billing_address_edited_in_admin_refuses_a_card_number(db: None) -> None:
    root = User.objects.create_superuser("root", password=builders.PASSWORD)
    customer = builders.customer()
    address = customer.billing_address
    form = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "crm_id": customer.crm_id or "",
        "billing_address-TOTAL_FORMS": "1",
        "billing_address-INITIAL_FORMS": "1",
        "billing_address-MIN_NUM_FORMS": "0",
        "billing_address-MAX_NUM_FORMS": "1",
        "billing_address-0-id": address.pk,
        "billing_address-0-customer": customer.pk,
        "billing_address-0-line1": "5555 5555 5555 4444",
        "billing_address-0-line2": address.line2,
        "billing_address-0-city": address.city,
        "billing_address-0-state": address.state,
        "billing_address-0-postcode": address.postcode,
        "billing_address-0-country": address.country,
        "orders-TOTAL_FORMS": "0",
        "orders-INITIAL_FORMS": "0",
        "orders-MIN_NUM_FORMS": "0",
        "orders-MAX_NUM_FORMS": "1000",
    }
    response = builders.signed_in(root).post(
        f"/admin/customers/customer/{customer.pk}/change/", form
    )
    assert response.status_code == 200
    assert CARD_NUMBER_MESSAGE in response.content.decode()
    address.refresh_from_db()
    assert "5555" not in address.line1


def test_a_card_number_typed_as_a_username_never_reaches_the_audit_trail(db: None) -> None:
    Client().post("/login/", {"username": "4111 1111 1111 1111", "password": "wrong"})
    entry = AuditEntry.objects.get(action=AuditEntry.Action.SIGN_IN_FAILED)
    assert "1111" not in entry.actor_name and "1111" not in str(entry.details)


def test_the_access_log_carries_no_query_string() -> None:
    log_format = gunicorn.access_log_format
    assert "%(U)s" in log_format
    assert "%(q)s" not in log_format and "%(r)s" not in log_format
