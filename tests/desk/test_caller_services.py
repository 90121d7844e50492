"""agentdesk.desk.services (enter_caller, update_caller), customers.services and the order
services they use (payments.orders.create_order and update_order_details): manual entry saves
all or nothing; edits before a payment are all or nothing and refused once the order cannot
change."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from agentdesk.desk.services import enter_caller, update_caller
from agentdesk.staff.models import Agent
from customers.details import AddressDetails, CustomerDetails, OrderDetails
from customers.models import Customer
from customers.services import normalize_phone
from payments.models import Order, Payment
from payments.orders import PaymentBlocked, update_order_details
from tests import builders

pytestmark = pytest.mark.django_db

ADA = CustomerDetails("Ada", "Lovelace", "ada@example.com", "+44 (20) 7946-0018")
LONDON = AddressDetails("10 St James's Square", "London", "gb", postcode="sw1y 4ln")


def test_manual_entry_saves_the_caller_address_and_order() -> None:
    order = enter_caller(
        customer=ADA, address=LONDON, order=OrderDetails(Decimal("25"), "gbp", "Membership")
    )
    assert order.reference.startswith("PAY-") and order.currency == "GBP"
    assert order.customer.phone == "+442079460018"
    assert str(order.customer.billing_address) == "10 St James's Square, London, SW1Y 4LN, GB"


def test_manual_entry_saves_nothing_when_any_part_is_wrong() -> None:
    with pytest.raises(ValidationError) as caught:
        enter_caller(customer=ADA, address=LONDON, order=OrderDetails(Decimal("1.234"), "GBP"))
    assert caught.value.message_dict == {"amount": ["GBP allows at most 2 decimals."]}
    assert not Customer.objects.exists()


def test_normalize_phone() -> None:
    assert normalize_phone(" +1 (415) 555-0123 ") == "+14155550123"


def test_an_edit_is_all_or_nothing() -> None:
    order = builders.order()
    with pytest.raises(ValidationError):
        update_caller(
            order=order,
            customer=ADA,
            address=AddressDetails("1 Main St", "Springfield", "US"),  # no state, no ZIP
            details=OrderDetails(Decimal("99"), "GBP"),
        )
    order.refresh_from_db()
    assert order.amount == Decimal("12.40") and order.customer.first_name == "Priya"


def test_an_edit_is_refused_while_a_payment_is_in_progress(agent_user) -> None:
    order = builders.order()
    builders.payment(order=order, agent=Agent.objects.get(), state=Payment.State.IN_PROGRESS)
    with pytest.raises(PaymentBlocked, match="already in progress"):
        update_caller(
            order=order, customer=ADA, address=LONDON, details=OrderDetails(Decimal("12.40"), "GBP")
        )
    assert Customer.objects.get().first_name == "Priya"


def test_unchanged_order_details_are_never_refused(agent_user) -> None:
    order = builders.order(description="Renewal")
    builders.payment(order=order, agent=Agent.objects.get(), state=Payment.State.APPROVED)
    same = OrderDetails(Decimal("12.40"), "GBP", "Renewal", order.reference)
    assert update_order_details(order=order, details=same) == order
    with pytest.raises(PaymentBlocked, match="already paid"):
        update_order_details(order=order, details=OrderDetails(Decimal("13"), "GBP"))


def test_the_reference_sent_with_an_attempt_never_changes(agent_user) -> None:
    order = builders.order(reference="REF-1")
    builders.payment(order=order, agent=Agent.objects.get(), state=Payment.State.DECLINED)
    with pytest.raises(PaymentBlocked, match="cannot change"):
        update_order_details(
            order=order, details=OrderDetails(Decimal("12.40"), "GBP", "", "REF-2")
        )
    changed = update_order_details(order=order, details=OrderDetails(Decimal("20"), "GBP"))
    assert (changed.reference, changed.amount) == ("REF-1", Decimal("20"))
    assert Order.objects.get().amount == Decimal("20")
