"""The verbs that change customers: manual entry, edits before a payment, and the local copy of
a CRM customer. Orders are created and changed through payments.services."""

import logging
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from customers.crm import CRM, CallerNotFound, Crm, CrmCustomer, parse_key
from customers.models import BillingAddress, Customer
from payments.models import Order
from payments.services import OrderDetails, create_order, ensure_editable, update_order_details

log = logging.getLogger("customers.services")


@dataclass(frozen=True)
class CustomerDetails:
    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class AddressDetails:
    line1: str
    city: str
    country: str
    line2: str = ""
    state: str = ""
    postcode: str = ""


def normalize_phone(phone: str) -> str:
    """'+44 (1632) 960-961' -> '+441632960961': one shape, so searches by phone find it."""
    return re.sub(r"[\s().-]", "", phone.strip())


def enter_caller(
    *, customer: CustomerDetails, address: AddressDetails, order: OrderDetails
) -> Order:
    """A caller typed in by hand, with their billing address and the order to pay.
    Raises ValidationError (by field) for anything that cannot be used; saves nothing then."""
    with transaction.atomic():
        person = Customer()
        _apply_customer(person, customer)
        _apply_address(BillingAddress(customer=person), address)
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
        _apply_customer(person, customer)
        existing = BillingAddress.objects.filter(customer=person).first()
        _apply_address(existing or BillingAddress(customer=person), address)
        order.customer = person
        return order


def open_caller(key: str, *, crm: Crm) -> Customer:
    """The local customer a search result's key names; a CRM customer is fetched and its
    local copy brought up to date first. Raises CallerNotFound or CrmUnavailable."""
    kind, value = parse_key(key)
    if kind == CRM:
        return save_crm_copy(crm.fetch(value))
    customer = Customer.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if customer is None:
        raise CallerNotFound("This caller is no longer in the customer list.")
    return customer


def save_crm_copy(record: CrmCustomer) -> Customer:
    """Keep a local copy of a CRM customer an agent opened: the customer (by CRM id), the
    billing address and the open orders we do not have yet. The CRM's values are taken as they
    are (the agent reviews them before a payment starts); orders we cannot use are skipped."""
    with transaction.atomic():
        person, _ = Customer.objects.select_for_update().update_or_create(
            crm_id=record.crm_id,
            defaults={
                "first_name": record.first_name[:100],
                "last_name": record.last_name[:100],
                "email": record.email[:254],
                "phone": normalize_phone(record.phone)[:32],
            },
        )
        if record.address is not None:
            BillingAddress.objects.update_or_create(
                customer=person,
                defaults={
                    "line1": record.address.line1[:200],
                    "line2": record.address.line2[:200],
                    "city": record.address.city[:100],
                    "state": record.address.state[:100],
                    "postcode": record.address.postcode[:20],
                    "country": record.address.country[:2].upper(),
                },
            )
        known = set(
            Order.objects.filter(reference__in=[o.reference for o in record.orders]).values_list(
                "reference", flat=True
            )
        )
        for crm_order in record.orders:
            if crm_order.reference in known:
                continue
            try:
                with transaction.atomic():
                    create_order(
                        customer=person,
                        details=OrderDetails(
                            amount=crm_order.amount,
                            currency=crm_order.currency,
                            description=crm_order.description[:255],
                            reference=crm_order.reference,
                        ),
                    )
            except ValidationError as error:
                log.warning(
                    "CRM customer %s: order %s skipped: %s",
                    record.crm_id,
                    crm_order.reference,
                    "; ".join(error.messages),
                )
        return person


def _apply_customer(person: Customer, details: CustomerDetails) -> None:
    person.first_name = details.first_name.strip()
    person.last_name = details.last_name.strip()
    person.email = details.email.strip()
    person.phone = normalize_phone(details.phone)
    person.full_clean()
    person.save()


def _apply_address(address: BillingAddress, details: AddressDetails) -> None:
    address.line1 = details.line1.strip()
    address.line2 = details.line2.strip()
    address.city = details.city.strip()
    address.state = details.state.strip()
    address.postcode = details.postcode.strip().upper()
    address.country = details.country.strip().upper()
    address.full_clean(exclude=["customer"])
    address.save()
