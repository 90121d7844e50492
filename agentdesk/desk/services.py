"""The desk's verbs: what an agent does with a caller on the line that spans customers and
orders. Each is all or nothing; the rules live in the services it calls."""

from dataclasses import replace

from django.db import transaction

from agentdesk.shared.text import fit
from customers.crm import CRM, CallerNotFound, Crm, parse_key
from customers.details import AddressDetails, CustomerDetails, OrderDetails
from customers.models import Customer
from customers.services import save_crm_copy, save_customer
from payments.models import Order
from payments.orders import (
    add_missing_orders,
    create_order,
    ensure_editable,
    update_order_details,
)


def enter_caller(
    *, customer: CustomerDetails, address: AddressDetails, order: OrderDetails
) -> Order:
    """A caller typed in by hand, with their billing address and the order to pay.
    Raises ValidationError (by field) for anything that cannot be used; saves nothing then."""
    with transaction.atomic():
        person = save_customer(customer=None, details=customer, address=address)
        return create_order(customer=person, details=order)


def update_caller(
    *,
    order: Order,
    customer: CustomerDetails,
    address: AddressDetails,
    details: OrderDetails,
) -> Order:
    """Edit the payment data of `order` (caller, billing address, order) before a payment
    starts: all or nothing. Raises PaymentBlocked once the order cannot change, or
    ValidationError (by field)."""
    with transaction.atomic():
        order = update_order_details(order=order, details=details)
        ensure_editable(order)
        person = Customer.objects.select_for_update().get(pk=order.customer_id)
        order.customer = save_customer(customer=person, details=customer, address=address)
        return order


def open_caller(key: str, *, crm: Crm) -> Customer:
    """The local customer a search result's key names; a CRM customer is fetched and its
    local copy (with the open orders we do not have yet) brought up to date first. Raises
    CallerNotFound or CrmUnavailable."""
    kind, value = parse_key(key)
    if kind == CRM:
        record = crm.fetch(value)
        with transaction.atomic():
            customer = save_crm_copy(record)
            add_missing_orders(
                customer=customer,
                orders=[
                    replace(
                        o,
                        description=fit(Order, "description", o.description),
                        reference=fit(Order, "reference", o.reference),
                    )
                    for o in record.orders
                ],
            )
        return customer
    local = Customer.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if local is None:
        raise CallerNotFound("This caller is no longer in the customer list.")
    return local
