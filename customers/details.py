"""A caller's details as a person or a CRM gives them, before they are saved: the one shape
manual entry, edits and a CRM's records share (never any card data)."""

from dataclasses import dataclass
from decimal import Decimal


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


@dataclass(frozen=True)
class OrderDetails:
    """What the caller is paying for, as typed or as a CRM has it; all of it goes to VCC."""

    amount: Decimal
    currency: str
    description: str = ""
    reference: str = ""  # blank: generated for a new order, kept for an existing one
