"""/desk/callers/<id>/ (the caller on screen, their orders, a new payment for them) and
/desk/orders/<id>/ with /details/ (what goes to VCC, editable before a payment starts; the flow
picker with the default preselected and staging flows marked)."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from agentdesk.staff.models import Agent
from payments.models import Order, Payment, PaymentFlow
from payments.vcc.sandbox.models import Session as SandboxSession
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.desk.test_manual_entry import GOOD

pytestmark = pytest.mark.django_db

# The order fixture's payment data, with a new last name, address line and amount.
DETAILS = {
    **GOOD,
    "first_name": "Priya",
    "last_name": "Patel-Shah",
    "email": "priya@example.com",
    "phone": "+441632960961",
    "line1": "14 Acacia Avenue",
    "city": "Leeds",
    "postcode": "LS1 4AP",
    "reference": "DEMO-42",
    "amount": "15.00",
    "description": "",
}


def test_the_caller_page_lists_open_orders_first(agent_client: Client) -> None:
    priya = builders.customer(crm_id="CRM-1001")
    builders.order(customer=priya, reference="OLD-1", status=Order.Status.PAID)
    builders.order(customer=priya, reference="OPEN-1")
    html = agent_client.get(f"/desk/callers/{priya.pk}/", **WORKSPACE).content.decode()
    assert html.index("OPEN-1") < html.index("OLD-1")
    assert "Take payment" in html and "New payment for Priya" in html
    assert "<html" not in html
    assert "<html" in agent_client.get(f"/desk/callers/{priya.pk}/").content.decode()


def test_a_new_order_for_the_caller(agent_client: Client) -> None:
    priya = builders.customer()
    url = f"/desk/callers/{priya.pk}/orders/"
    html = agent_client.post(url, {"amount": "-1", "currency": "GBP"}, **WORKSPACE).content.decode()
    assert "The amount must be greater than zero." in html and 'value="-1"' in html
    response = agent_client.post(
        url, {"amount": "5400", "currency": "JPY", "description": "Tickets"}, **WORKSPACE
    )
    order = priya.orders.get()
    assert f"/desk/orders/{order.pk}/" in response.headers["HX-Location"]
    assert (order.amount, order.currency) == (Decimal("5400"), "JPY")


def test_the_order_page_shows_what_goes_to_vcc_and_the_flows(
    agent_client: Client, order: Order, flow: PaymentFlow
) -> None:
    builders.flow(
        name="Live cards", environment="production", display_mode="popup", is_default=False
    )
    builders.flow(name="Switched off", is_default=False, is_active=False)
    html = agent_client.get(f"/desk/orders/{order.pk}/", **WORKSPACE).content.decode()
    for shown in ("Priya Patel", "12 Acacia Avenue, Leeds, LS1 4AP, GB", "12.40 GBP", "DEMO-42"):
        assert shown in html
    flows = re.findall(
        r'<input type="radio" name="flow" value="(\d+)"( checked)?>\s*([^<\n]+)', html
    )
    assert [(name.strip(), bool(checked)) for _, checked, name in flows] == [
        ("Staging cards", True),
        ("Live cards", False),
    ]
    assert html.count('<span class="staging">STAGING</span>') == 1
    assert "Popup window" in html and "Switched off" not in html
    assert "Start payment" in html and "Edit details" in html


def test_no_flow_switched_on(agent_client: Client, order: Order) -> None:
    html = agent_client.get(f"/desk/orders/{order.pk}/", **WORKSPACE).content.decode()
    assert "No payment flow is switched on" in html and "Start payment" not in html


def test_details_are_edited_before_the_start(agent_client: Client, order: Order) -> None:
    url = f"/desk/orders/{order.pk}/details/"
    form = agent_client.get(url).content.decode()
    assert 'value="Patel"' in form and 'value="12.40"' in form
    response = agent_client.post(url, DETAILS)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Priya Patel-Shah" in html and "15.00 GBP" in html and "Edit details" in html
    order.refresh_from_db()
    assert order.amount == Decimal("15.00")
    assert order.customer.billing_address.line1 == "14 Acacia Avenue"


def test_bad_details_are_refused_beside_their_fields_and_nothing_changes(
    agent_client: Client, order: Order
) -> None:
    url = f"/desk/orders/{order.pk}/details/"
    html = agent_client.post(url, {**DETAILS, "postcode": "NOPE", "last_name": ""}).content.decode()
    assert "This is not a valid postcode for United Kingdom (for example SW1A 1AA)." in html
    assert "This field is required." in html
    assert 'value="14 Acacia Avenue"' in html
    order.refresh_from_db()
    assert order.customer.last_name == "Patel" and order.amount == Decimal("12.40")


def test_details_cannot_change_once_a_payment_is_in_progress(
    agent_client: Client, agent: Agent, order: Order, flow: PaymentFlow
) -> None:
    builders.payment(order=order, agent=agent, flow=flow)
    url = f"/desk/orders/{order.pk}/details/"
    html = agent_client.get(url).content.decode()
    assert "already in progress" in html and "<form" not in html
    html = agent_client.post(url, DETAILS).content.decode()
    assert "already in progress" in html and "Its details can no longer change." in html
    order.refresh_from_db()
    assert order.amount == Decimal("12.40") and order.customer.last_name == "Patel"
    page = agent_client.get(f"/desk/orders/{order.pk}/").content.decode()
    assert "Edit details" not in page


def test_the_reference_stays_once_sent_to_vcc(
    agent_client: Client, agent: Agent, order: Order, flow: PaymentFlow
) -> None:
    builders.payment(order=order, agent=agent, flow=flow, state=Payment.State.DECLINED)
    url = f"/desk/orders/{order.pk}/details/"
    form = agent_client.get(url).content.decode()
    assert "Sent to VCC with an earlier attempt: it stays." in form
    assert re.search(r'name="reference"[^>]*disabled', form)
    agent_client.post(url, {**DETAILS, "reference": "CHANGED", "amount": "13.00"})
    order.refresh_from_db()
    assert (order.reference, order.amount) == ("DEMO-42", Decimal("13.00"))


def test_no_start_is_offered_while_the_details_editor_is_open(
    agent_client: Client, order: Order, flow: PaymentFlow
) -> None:
    url = f"/desk/orders/{order.pk}/details/"
    editor = agent_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="12.40"' in editor
    assert "Save or cancel the edited details first" in editor
    assert "Start payment" not in editor
    saved = agent_client.post(url, DETAILS, HTTP_HX_REQUEST="true").content.decode()
    assert "15.00 GBP" in saved and "Start payment" in saved
    assert "Save or cancel the edited details first" not in saved


def test_a_start_sends_the_saved_details_never_unsaved_edits(
    agent_client: Client, order: Order, sandbox: object
) -> None:
    """Edits typed but not saved stay in the browser: a start (however it is posted) sends
    what is saved."""
    flow = builders.flow()
    agent_client.get(f"/desk/orders/{order.pk}/details/", HTTP_HX_REQUEST="true")
    agent_client.post(f"/desk/orders/{order.pk}/start/", {"flow": flow.pk}, **WORKSPACE)
    payment = Payment.objects.get()
    session = SandboxSession.objects.get(guid=payment.session_guid)
    assert "12.40" in str(session.payment_data) and "15.00" not in str(session.payment_data)


@pytest.mark.parametrize(
    ("country", "earlier", "preselected"),
    [("US", None, "USD"), ("JP", None, "JPY"), ("US", "EUR", "EUR"), ("ZZ", None, "GBP")],
)
def test_a_new_order_starts_in_the_callers_usual_currency(
    agent_client: Client, country: str, earlier: str | None, preselected: str
) -> None:
    """The caller's last order's currency, else their country's, else the desk's default."""
    caller = builders.customer(address={"country": country})
    if earlier:
        builders.order(customer=caller, currency=earlier, status=Order.Status.PAID)
    html = agent_client.get(f"/desk/callers/{caller.pk}/", **WORKSPACE).content.decode()
    assert re.findall(r'<option value="(\w+)" selected>', html) == [preselected]


def test_a_decimal_comma_is_read_and_thousands_separators_get_a_hint(
    agent_client: Client,
) -> None:
    priya = builders.customer()
    url = f"/desk/callers/{priya.pk}/orders/"
    html = agent_client.post(url, {"amount": "1,250", "currency": "GBP"}, **WORKSPACE)
    assert "Type the amount without thousands separators, e.g. 1250.00 or 12,50." in (
        html.content.decode()
    )
    assert not priya.orders.exists()
    agent_client.post(url, {"amount": "12,50", "currency": "GBP"}, **WORKSPACE)
    assert priya.orders.get().amount == Decimal("12.50")
