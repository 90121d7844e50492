"""The people who pay: customers and their billing addresses (never any card data)."""

import re

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper

from customers.countries import COUNTRIES, address_rule
from customers.names import ByteUpper
from customers.phones import e164, phone_hint

TRGM = "gin_trgm_ops"


def validate_not_blank(value: str) -> None:
    if not value or not value.strip():
        raise ValidationError("This field cannot be blank.", code="blank")


def validate_country(value: str) -> None:
    if value not in COUNTRIES:
        raise ValidationError(
            "'%(value)s' is not an ISO 3166-1 alpha-2 country code (for example GB, US, DE).",
            code="invalid_country",
            params={"value": value},
        )


class Customer(models.Model):
    crm_id = models.CharField(
        "CRM id",
        max_length=64,
        blank=True,
        null=True,
        unique=True,
        help_text="The customer's id in the CRM it came from; empty for customers typed in.",
    )
    first_name = models.CharField(max_length=100, validators=[validate_not_blank])
    last_name = models.CharField(max_length=100, validators=[validate_not_blank])
    email = models.EmailField(blank=True)
    phone = models.CharField(
        max_length=32,
        blank=True,
        help_text=(
            "In E.164 (+441632960961); a number typed without its country code is read in "
            "the desk's default country."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["email"]),
            # Supervisors' admin searches whole names and emails in any case.
            models.Index(Upper("first_name"), name="customer_first_name_upper"),
            models.Index(Upper("last_name"), name="customer_last_name_upper"),
            models.Index(Upper("email"), name="customer_email_upper"),
            # The desk's search as the agent types (selectors.search_customers): name prefixes
            # and parts of emails and phone numbers, in any case. Trigram indexes serve both
            # LIKE 'x%' and LIKE '%x%'; PostgreSQL only (migration 0004 skips them elsewhere).
            GinIndex(OpClass(Upper("first_name"), TRGM), name="customer_first_name_trgm"),
            GinIndex(OpClass(Upper("last_name"), TRGM), name="customer_last_name_trgm"),
            GinIndex(OpClass(Upper("email"), TRGM), name="customer_email_trgm"),
            GinIndex(OpClass(F("phone"), TRGM), name="customer_phone_trgm"),
            models.Index(Upper("crm_id"), name="customer_crm_id_upper"),
            # The desk's name search in the order it shows (selectors.search_customers): a name
            # prefix is a range of this index, read in order and stopped at the page's length.
            models.Index(
                ByteUpper("last_name"),
                ByteUpper("first_name"),
                "id",
                name="customer_name_order",
                # The names themselves too: a filter on the other words of a name is read
                # from the index alone (an index-only scan).
                include=["last_name", "first_name"],
            ),
            models.Index(ByteUpper("first_name"), name="customer_first_name_order"),
            # The supervisors' search by an email's start (the trigram index reads every
            # entry sharing "bench"'s trigrams).
            models.Index(ByteUpper("email"), name="customer_email_order"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean(self) -> None:
        if self.crm_id == "":
            self.crm_id = None
        if self.phone and not re.fullmatch(r"\+?[0-9 ()-]{6,20}", self.phone):
            raise ValidationError({"phone": "Enter a phone number, e.g. +44 1632 960961."})
        if self.phone and e164(self.phone) is None:
            raise ValidationError({"phone": phone_hint()})


class BillingAddress(models.Model):
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="billing_address"
    )
    line1 = models.CharField("address line 1", max_length=200, validators=[validate_not_blank])
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, validators=[validate_not_blank])
    state = models.CharField("state / region", max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(
        max_length=2,
        validators=[validate_country],
        help_text="ISO 3166-1 alpha-2, e.g. GB",
    )

    class Meta:
        verbose_name_plural = "billing addresses"

    def __str__(self) -> str:
        parts = [self.line1, self.line2, self.city, self.state, self.postcode, self.country]
        return ", ".join(p for p in parts if p)

    def clean_fields(self, exclude: object = None) -> None:
        self.country = (self.country or "").strip().upper()
        super().clean_fields(exclude)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.country not in COUNTRIES:
            return  # the field validator reports it
        rule = address_rule(self.country)
        errors = {}
        if rule.state_required and not self.state.strip():
            errors["state"] = f"{rule.state_label} is required for {COUNTRIES[self.country]}."
        postcode = self.postcode.strip()
        if not postcode:
            if rule.postcode_required:
                errors["postcode"] = f"A postcode is required for {COUNTRIES[self.country]}."
        elif not re.fullmatch(rule.postcode_pattern, postcode):
            example = f" (for example {rule.postcode_example})" if rule.postcode_example else ""
            errors["postcode"] = (
                f"This is not a valid postcode for {COUNTRIES[self.country]}{example}."
            )
        if errors:
            raise ValidationError(errors)
