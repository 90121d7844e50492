"""The verbs that change customers: a caller typed in or edited by hand, and the local copy of
a CRM customer. They save customers and billing addresses only; the desk drives orders and
payments from a caller (agentdesk/desk/services.py)."""

import re

from django.db import transaction

from agentdesk.shared.text import fit
from customers.crm import CrmCustomer
from customers.details import AddressDetails, CustomerDetails
from customers.models import BillingAddress, Customer
from customers.phones import e164


def normalize_phone(phone: str) -> str:
    """'+44 (1632) 960-961' or '01632 960961' -> '+441632960961' (E.164): one shape, so
    searches by phone find it; a number that cannot be read keeps its digits."""
    return e164(phone) or re.sub(r"[\s().-]", "", phone.strip())


def save_customer(
    *, customer: Customer | None, details: CustomerDetails, address: AddressDetails
) -> Customer:
    """Save a caller (new when `customer` is None) and their billing address from what a
    person typed. Raises ValidationError (by field) for anything that cannot be used; the
    caller of this runs it in a transaction, so nothing is saved then."""
    person = customer or Customer()
    person.first_name = details.first_name.strip()
    person.last_name = details.last_name.strip()
    person.email = details.email.strip()
    person.phone = normalize_phone(details.phone)
    person.full_clean()
    person.save()
    billing = BillingAddress.objects.filter(customer=person).first() if customer else None
    billing = billing or BillingAddress(customer=person)
    billing.line1 = address.line1.strip()
    billing.line2 = address.line2.strip()
    billing.city = address.city.strip()
    billing.state = address.state.strip()
    billing.postcode = address.postcode.strip().upper()
    billing.country = address.country.strip().upper()
    billing.full_clean(exclude=["customer"])
    billing.save()
    return person


def save_crm_copy(record: CrmCustomer) -> Customer:
    """Keep a local copy of a CRM customer an agent opened (by CRM id) and their billing
    address. The CRM's values are taken as they are: the agent reviews them before a payment
    starts."""
    person = record.person
    with transaction.atomic():
        customer, _ = Customer.objects.select_for_update().update_or_create(
            crm_id=fit(Customer, "crm_id", record.crm_id),
            defaults={
                "first_name": fit(Customer, "first_name", person.first_name),
                "last_name": fit(Customer, "last_name", person.last_name),
                "email": fit(Customer, "email", person.email),
                "phone": fit(Customer, "phone", normalize_phone(person.phone)),
            },
        )
        address = record.address
        if address is not None:
            BillingAddress.objects.update_or_create(
                customer=customer,
                defaults={
                    name: fit(BillingAddress, name, getattr(address, name))
                    for name in ("line1", "line2", "city", "state", "postcode", "country")
                }
                | {"country": fit(BillingAddress, "country", address.country).upper()},
            )
        return customer
