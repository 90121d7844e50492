"""The desk's forms: the payment data of an order (caller, billing address, order) for manual
entry and for edits before a payment starts, and a new order for a caller on screen.

Every field is checked by the models' own rules (customers.models, payments.models), so a
message appears next to the field it is about; nothing is saved here (services save)."""

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from agentdesk.shared.cards import refuse_card_number
from agentdesk.shared.currencies import CURRENCIES
from agentdesk.shared.money import format_major
from customers.countries import COUNTRIES, address_rule
from customers.details import AddressDetails, CustomerDetails, OrderDetails
from customers.models import BillingAddress, Customer
from payments.models import Order

COUNTRY_CHOICES = [("", "Choose a country"), *sorted(COUNTRIES.items(), key=lambda c: c[1])]
CURRENCY_CHOICES = [(code, f"{code} · {name}") for code, (name, _) in sorted(CURRENCIES.items())]
ORDER_FIELDS = ("reference", "amount", "currency", "description")
CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postcode", "country")


def text(max_length: int, *, required: bool = True, autocomplete: str = "", **kw: Any) -> Any:
    """A free-text field; like every one on the desk, it refuses a card number."""
    attrs = {"autocomplete": autocomplete or "off", "spellcheck": "false"}
    return forms.CharField(
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs),
        validators=[refuse_card_number],
        **kw,
    )


# "12,50": a decimal comma, as many callers and agents write amounts.
DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")


class AmountField(forms.DecimalField):
    """An amount as it is typed: "12.50", or "12,50" with a decimal comma; thousands
    separators are refused with a hint (is "1,250" one thousand or one and a quarter?)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if DECIMAL_COMMA.fullmatch(value):
                value = value.replace(",", ".")
            elif "," in value:
                raise ValidationError(
                    "Type the amount without thousands separators, e.g. 1250.00 or 12,50.",
                    code="invalid",
                )
        return super().clean(value)


class OrderForm(forms.Form):
    """A new order for the caller on screen, or the order part of the payment data."""

    reference = text(
        64,
        required=False,
        label="Payment reference",
        help_text="Left blank, one is made up (PAY-…).",
    )
    amount = AmountField(
        max_digits=18,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    description = text(255, required=False)

    def __init__(self, *args: Any, order: Order | None = None, **kwargs: Any) -> None:
        self.order = order
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.DESK_DEFAULT_CURRENCY
        if order is not None and order.payments.exists():
            reference = self.fields["reference"]
            reference.disabled = True
            reference.help_text = "Sent to VCC with an earlier attempt: it stays."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = {name: cleaned.get(name, "") for name in ORDER_FIELDS}
        values["amount"] = cleaned.get("amount")  # None when refused: Order.clean skips it
        order = Order(pk=self.order.pk if self.order else None, **values)
        order._state.adding = self.order is None  # an edit: its own reference is not a clash
        skip = ["customer", "status", "paid_amount", "paid_at"]
        if not order.reference:
            skip.append("reference")
        self.check_model(order, skip)
        return cleaned

    def check_model(self, instance: models.Model, skip: list[str]) -> None:
        """Run `instance`'s own validation; put each message next to its field. Fields the
        form already refused are not checked twice."""
        try:
            instance.full_clean(exclude=[*skip, *self.errors])
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)

    def order_details(self) -> OrderDetails:
        data = self.cleaned_data
        return OrderDetails(
            amount=Decimal(data["amount"]),
            currency=data["currency"],
            description=data.get("description", ""),
            reference=data.get("reference", "") or "",
        )


class PaymentDetailsForm(OrderForm):
    """Everything a payment sends to VCC: the caller, the billing address and the order."""

    first_name = text(100, autocomplete="off")
    last_name = text(100, autocomplete="off")
    email = forms.EmailField(
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        validators=[refuse_card_number],
    )
    phone = text(32, required=False, help_text="With the country code, e.g. +44 1632 960961.")
    line1 = text(200, label="Address line 1")
    line2 = text(200, required=False, label="Address line 2")
    city = text(100, label="Town or city")
    state = text(100, required=False)
    postcode = text(20, required=False)
    country = forms.ChoiceField(choices=COUNTRY_CHOICES)

    field_order = [*CUSTOMER_FIELDS, *ADDRESS_FIELDS, *ORDER_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].initial = settings.DESK_DEFAULT_COUNTRY
        self.rule = address_rule(self.chosen_country())
        state, postcode = self.fields["state"], self.fields["postcode"]
        state.label = self.rule.state_label
        postcode.label = "Postcode"
        if self.rule.postcode_example:
            postcode.help_text = f"For example {self.rule.postcode_example}."
        # Requiredness is the model's rule (with its message); the marks are for the agent.
        state.widget.attrs["aria-required"] = str(self.rule.state_required).lower()
        postcode.widget.attrs["aria-required"] = str(self.rule.postcode_required).lower()

    def chosen_country(self) -> str:
        value = self.data.get("country") if self.is_bound else None
        return str(value or self.initial.get("country") or settings.DESK_DEFAULT_COUNTRY)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        customer = Customer(**{name: cleaned.get(name, "") for name in CUSTOMER_FIELDS})
        self.check_model(customer, ["crm_id"])
        address = BillingAddress(**{name: cleaned.get(name, "") for name in ADDRESS_FIELDS})
        self.check_model(address, ["customer"])
        return cleaned

    def customer_details(self) -> CustomerDetails:
        return CustomerDetails(**{name: self.cleaned_data[name] for name in CUSTOMER_FIELDS})

    def address_details(self) -> AddressDetails:
        return AddressDetails(**{name: self.cleaned_data[name] for name in ADDRESS_FIELDS})


def details_of(order: Order) -> dict[str, Any]:
    """The payment data `order` holds now, as the details form's initial values."""
    customer = order.customer
    address = getattr(customer, "billing_address", None)
    values: dict[str, Any] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    values.update({name: getattr(address, name, "") for name in ADDRESS_FIELDS})
    values.update({name: getattr(order, name) for name in ORDER_FIELDS})
    values["amount"] = format_major(order.amount, order.currency)  # "12.40", not "12.4000"
    return values
