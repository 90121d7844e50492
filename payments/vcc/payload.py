"""The `paymentData` VCC gets for a payment: non-sensitive pre-fill mapped through the flow's
key table (payments.models.DEFAULT_PAYMENT_DATA_KEYS unless the flow remaps it)."""

from payments.models import DEFAULT_PAYMENT_DATA_KEYS, Order, PaymentFlow
from payments.money import format_major


def payment_data(order: Order, flow: PaymentFlow) -> dict[str, str]:
    """Name, billing address, amount (major units, the currency's decimals), currency and
    reference of `order`, under the keys `flow` wants. Empty values are left out."""
    customer = order.customer
    address = getattr(customer, "billing_address", None)
    values = {
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
    keys = {**DEFAULT_PAYMENT_DATA_KEYS, **(flow.payment_data_keys or {})}
    return {keys[field]: value for field, value in values.items() if value}
