"""The verbs that change orders (what a payment will send to VCC), and why an order cannot take
a payment now. An order's paid status moves only with its payments (payments/services.py)."""

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agentdesk.shared.money import format_major
from customers.details import OrderDetails
from customers.models import Customer
from payments.models import Order, Payment

log = logging.getLogger("payments.orders")


class PaymentBlocked(Exception):
    """An order cannot take a payment, or change, now; `str()` says why, fit to show the
    agent."""


def create_order(*, customer: Customer, details: OrderDetails) -> Order:
    """A new open order for `customer`; raises ValidationError for details that cannot be used."""
    order = Order(
        customer=customer,
        amount=details.amount,
        currency=details.currency,
        description=details.description.strip(),
    )
    if details.reference.strip():
        order.reference = details.reference.strip()
    order.full_clean(exclude=["customer"])
    order.save()
    return order


def add_missing_orders(*, customer: Customer, orders: Iterable[OrderDetails]) -> None:
    """Create the orders of `orders` whose reference we do not have yet (a CRM's open orders);
    one that cannot be used is skipped with a warning, the others are kept."""
    wanted = list(orders)
    known = set(
        Order.objects.filter(reference__in=[o.reference for o in wanted]).values_list(
            "reference", flat=True
        )
    )
    for details in wanted:
        if details.reference in known:
            continue
        try:
            with transaction.atomic():
                create_order(customer=customer, details=details)
        except ValidationError as error:
            log.warning(
                "customer %s: order %s skipped: %s",
                customer.pk,
                details.reference,
                "; ".join(error.messages),
            )


def update_order_details(*, order: Order, details: OrderDetails) -> Order:
    """Change what `order` will send to VCC. Refused (PaymentBlocked) once a payment is in
    progress, approved or of unknown outcome; the reference, once sent to VCC with an attempt,
    never changes. Unchanged details change nothing and are never refused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        wanted = {
            "amount": details.amount,
            "currency": details.currency.strip().upper(),
            "description": details.description.strip(),
            "reference": details.reference.strip() or order.reference,
        }
        changed = {name for name, value in wanted.items() if getattr(order, name) != value}
        if not changed:
            return order
        ensure_editable(order)
        if "reference" in changed and order.payments.exists():
            raise PaymentBlocked(
                "The reference was sent to VCC with an earlier attempt: it cannot change."
            )
        for name in changed:
            setattr(order, name, wanted[name])
        order.full_clean(exclude=["customer"])
        order.save(update_fields=sorted(changed))
        return order


def ensure_editable(order: Order) -> None:
    """Raise PaymentBlocked unless `order`'s payment details may still change."""
    reason = blocking_reason(order)
    if reason:
        raise PaymentBlocked(f"{reason} Its details can no longer change.")


def blocking_reason(order: Order) -> str | None:
    """Why `order` cannot take another payment now, or None when it can."""
    if order.status == Order.Status.PAID:
        return "This order is already paid."
    if order.status == Order.Status.CANCELLED:
        return "This order is cancelled."
    blocking = order.payments.filter(state__in=Payment.BLOCKING_STATES).first()
    if blocking is None:
        return None
    if blocking.state == Payment.State.UNKNOWN:
        return (
            "The outcome of this order's last payment is unknown: a supervisor must resolve it "
            "before another payment can be taken."
        )
    if blocking.state == Payment.State.APPROVED:
        return "This order is already paid."
    started = timezone.localtime(blocking.created_at).strftime("%H:%M:%S")
    if blocking.kind == Payment.Kind.LINK:
        return (
            f"A payment link sent to {blocking.link_phone} at {started} is still open: the "
            "caller can pay with it until it ends."
        )
    return f"A payment for this order is already in progress (started {started})."


def order_values(order: Order) -> dict[str, str]:
    """What a payment of `order` sends to the payment page, by our own field names: the
    caller's name and email, the billing address, the amount in major units, the currency and
    the reference."""
    customer = order.customer
    address = getattr(customer, "billing_address", None)
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "line1": address.line1 if address else "",
        "city": address.city if address else "",
        "state": address.state if address else "",
        "postcode": address.postcode if address else "",
        "country": address.country if address else "",
        "amount": format_major(order.amount, order.currency),
        "currency": order.currency,
        "reference": order.reference,
    }
