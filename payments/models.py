"""Orders, payment flows, payments (one attempt = one VCC session), their append-only timeline,
and the raw webhook deliveries. State changes happen only in payments/services.py."""

import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from agentdesk.shared.currencies import CURRENCIES
from agentdesk.shared.money import MoneyError, check_amount, currency_exponent
from agentdesk.staff.models import Agent
from customers.models import Customer
from payments import states
from payments.vcc import gateway
from payments.vcc.payload import default_payment_data_keys, keys_problem


def generate_reference() -> str:
    """A payment reference an agent can read out on the phone: PAY- and 8 unambiguous chars."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "PAY-" + "".join(secrets.choice(alphabet) for _ in range(8))


def validate_currency(value: str) -> None:
    try:
        currency_exponent(value)
    except MoneyError as error:
        raise ValidationError(str(error), code="invalid_currency") from None


class Order(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(
        "payment reference",
        max_length=64,
        unique=True,
        default=generate_reference,
        help_text="Sent to VCC as the merchant reference; generated when left blank.",
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    paid_amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
        ]
        indexes = [
            # Supervisors' admin: search by reference (any case), filter by currency or status.
            models.Index(Upper("reference"), name="order_reference_upper"),
            # ... and by the start of a reference: LIKE 'DEMO-1%' needs the pattern operators.
            models.Index(
                OpClass(Upper("reference"), name="text_pattern_ops"), name="order_reference_prefix"
            ),
            models.Index(fields=["currency", "-created_at"], name="order_currency_recent"),
            models.Index(fields=["status", "-created_at"], name="order_status_recent"),
            # A customer's orders by id from the index alone: the supervisors' name search
            # walks customer -> orders -> payments (payments.payment_order_ids).
            models.Index(fields=["customer"], include=["id"], name="order_customer_ids"),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean_fields(self, exclude: object = None) -> None:
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.amount is None or self.currency not in CURRENCIES:
            return  # the fields' own validators report these
        try:
            check_amount(Decimal(self.amount), self.currency)
        except MoneyError as error:
            raise ValidationError({"amount": str(error)}) from None


class PaymentFlow(models.Model):
    """Which VCC account and accountConfigurationId a payment uses: edited in admin, so a flow
    can move from staging to production without a deploy."""

    class Environment(models.TextChoices):
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"

    class DisplayMode(models.TextChoices):
        IFRAME = "iframe", "Inside the desk (iframe)"
        POPUP = "popup", "Popup window"

    name = models.CharField(max_length=100, unique=True)
    account = models.CharField(
        "VCC account",
        max_length=50,
        help_text="A name from VCC_ACCOUNTS (credentials live in the environment).",
    )
    account_configuration_id = models.PositiveIntegerField(
        "accountConfigurationId",
        null=True,
        blank=True,
        help_text="Provisioned by Vonage per account; blank uses the account's default flow.",
    )
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.STAGING
    )
    display_mode = models.CharField(
        max_length=16, choices=DisplayMode.choices, default=DisplayMode.IFRAME
    )
    payment_data_keys = models.JSONField(
        "paymentData keys",
        default=default_payment_data_keys,
        help_text="Our field name -> the paymentData key this flow's gateway expects.",
    )
    is_active = models.BooleanField(default=True)
    allows_links = models.BooleanField(
        "allows payment links",
        default=False,
        help_text="The desk may text the caller a payment link (VCC digital session) on it.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Preselected on the desk; one flow at most."
    )

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_flow"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} [STAGING]" if self.is_staging else self.name

    @property
    def is_staging(self) -> bool:
        return self.environment == self.Environment.STAGING

    def clean(self) -> None:
        from payments.vcc.accounts import configured_account_names

        names = configured_account_names()
        if self.account not in names:
            raise ValidationError(
                {"account": f"Unknown VCC account; configured: {', '.join(names) or 'none'}."}
            )
        problem = keys_problem(self.payment_data_keys)
        if problem:
            raise ValidationError({"payment_data_keys": problem})


class PaymentManager(models.Manager["Payment"]):
    def bulk_create(self, objs: Iterable["Payment"], *args: Any, **kwargs: Any) -> list["Payment"]:
        rows = list(objs)
        for payment in rows:  # as save() does
            payment.copy_order_and_flow_columns()
        return super().bulk_create(rows, *args, **kwargs)


class Payment(models.Model):
    """One attempt to take an order's money: one VCC session."""

    # The states and their rules are declared in payments/states.py; these are derived there.
    State = states.State
    LIVE_STATES = states.LIVE_STATES
    BLOCKING_STATES = states.BLOCKING_STATES
    FINAL_STATES = states.FINAL_STATES
    RETRYABLE_STATES = states.RETRYABLE_STATES

    class Kind(models.TextChoices):
        PHONE = "phone", "On the phone"
        LINK = "link", "Payment link (SMS)"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    flow = models.ForeignKey(PaymentFlow, on_delete=models.PROTECT, related_name="payments")
    # The order's amount and currency and the flow's environment when the attempt started,
    # kept on the row (filled by save()) so the supervisors' filters are one index read and
    # their totals one table's at 10,000,000 payments; a flow moved to production later leaves
    # its staging payments staging.
    asked_amount = models.DecimalField(
        "amount asked", max_digits=18, decimal_places=4, null=True, blank=True, editable=False
    )
    currency = models.CharField(max_length=3, blank=True, default="", editable=False)
    environment = models.CharField(
        max_length=16,
        choices=PaymentFlow.Environment.choices,
        blank=True,
        default="",
        editable=False,
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PHONE)
    # A payment link: the mobile number it was texted to (E.164) and when VCC's link ends.
    link_phone = models.CharField("link sent to", max_length=32, blank=True)
    link_expires_at = models.DateTimeField("link ends", null=True, blank=True)
    # The contact centre's interaction id of the call the desk was opened for (screen pop),
    # and VCC's callGuid of the session: a supervisor finds the call recording by them.
    interaction_id = models.CharField("interaction id", max_length=100, blank=True, db_index=True)
    call_guid = models.CharField("VCC callGuid", max_length=64, blank=True, db_index=True)
    # VCC refused to start this attempt because the flow itself is wrong (its
    # accountConfigurationId does not exist): the flow is not offered again without a choice.
    flow_rejected = models.BooleanField(default=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="payments")
    state = models.CharField(max_length=20, choices=State.choices, default=State.STARTING)
    session_guid = models.CharField(
        "VCC session GUID", max_length=64, unique=True, null=True, blank=True
    )
    provider_url = models.URLField("provider page URL", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    session_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Polling outbox: when the next GET of the session is due (None when no poll is wanted).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    # A webhook delivery rang for this session at this time: the next read confirms it with
    # VCC (payments/webhooks.py); cleared when that read has settled the deliveries.
    rung_at = models.DateTimeField(null=True, blank=True)
    # The request id of the desk click that started it: every log line about this payment
    # carries it, in web and worker alike (docs/operations.md).
    request_id = models.CharField(max_length=64, blank=True, default="")
    # What the gateway answered (never card data).
    gateway_decision = models.CharField(max_length=20, blank=True)
    gateway_reason_code = models.CharField(max_length=20, blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True, db_index=True)
    result_amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    card_brand = models.CharField(max_length=30, blank=True)
    message = models.CharField(
        max_length=500, blank=True, help_text="Why it failed to start, or what is unknown."
    )
    flagged = models.BooleanField(
        default=False, help_text="A contradictory result arrived: a supervisor must look."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_reason = models.CharField(max_length=500, blank=True)

    objects = PaymentManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("take_payment", "Can take payments at the desk"),
            ("resolve_payment", "Can resolve payments of unknown outcome"),
            ("export_payment", "Can export payments as CSV"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=[state.value for state in states.BLOCKING_STATES]),
                name="one_live_payment_per_order",
                violation_error_message="This order already has a payment in progress, "
                "approved or of unknown outcome.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_poll_at"],
                condition=Q(next_poll_at__isnull=False),
                name="payment_poll_due",
            ),
            models.Index(fields=["state", "-created_at"], name="payment_state_recent"),
            # With the id: a filter's first 10,001 matches (the list's count, its pages and
            # dates) read from the index alone (an index-only scan).
            models.Index(fields=["kind", "-created_at"], include=["id"], name="payment_kind_ids"),
            models.Index(fields=["currency", "-created_at"], name="payment_currency_recent"),
            models.Index(
                fields=["environment", "currency", "-created_at"],
                include=["id"],
                name="payment_env_currency_ids",
            ),
            models.Index(fields=["environment", "-created_at"], name="payment_env_recent"),
            models.Index(fields=["agent", "-created_at"], name="payment_agent_recent"),
            # Supervisors' admin: the flow filter and the work queues, newest first.
            models.Index(fields=["flow", "-created_at"], name="payment_flow_recent"),
            # An order's payments with what the history's count reads (the name search's walk
            # customer -> orders -> payments, index only).
            models.Index(fields=["order"], include=["id", "created_at"], name="payment_order_ids"),
            # The flagged work queue, its totals read from the index alone.
            models.Index(
                fields=["-created_at"],
                condition=Q(flagged=True),
                include=["id", "state", "currency", "asked_amount"],
                name="payment_flagged_totals",
            ),
            # Combinations of the supervisors' sidebar filters, intersected inside one index
            # (btree_gin, migration 0011): a rare combination is a few index pages, not a walk
            # along one filter's rows checking the others. Not the environment or the flow:
            # each holds a quarter of the payments or more, and intersecting such a posting
            # list costs more than checking the rows the other filters leave.
            GinIndex(
                fields=["agent", "state", "kind", "currency"],
                name="payment_filters",
            ),
            # The work queue "waiting for a supervisor" (selectors.needing_a_supervisor).
            models.Index(
                fields=["-created_at"],
                condition=Q(state=states.State.UNKNOWN) | Q(flagged=True),
                # Its counts read the index alone.
                include=["state", "flagged"],
                name="payment_waiting_recent",
            ),
            models.Index(
                fields=["-created_at"],
                condition=Q(resolved_at__isnull=False),
                name="payment_resolved_recent",
            ),
            # The supervisors' search by the start of a gateway reference, in any case.
            models.Index(
                OpClass(Upper("gateway_reference"), name="text_pattern_ops"),
                name="payment_gateway_ref_prefix",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.reference} #{self.pk}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.copy_order_and_flow_columns()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def copy_order_and_flow_columns(self) -> None:
        """The order's amount and currency and the flow's environment, onto the row when first
        saved."""
        if self.asked_amount is None:
            self.asked_amount = self.order.amount
        if not self.currency:
            self.currency = self.order.currency
        if not self.environment:
            self.environment = self.flow.environment

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def can_retry(self) -> bool:
        """Whether a new attempt on the same flow may be offered (not on a flow VCC rejected)."""
        return self.state in self.RETRYABLE_STATES and not self.flow_rejected

    @property
    def decline_reason(self) -> str:
        """Why the gateway declined the card, in words the agent can tell the caller."""
        return gateway.decline_reason(self.gateway_reason_code)


class PaymentEvent(models.Model):
    """Append-only timeline of a payment: what was learnt, from where. Never card data."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Poll"
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        STATE_CHANGED = "state_changed", "State changed"
        REPEATED = "repeated", "Repeated result (no change)"
        CONTRADICTION = "contradiction", "Contradictory result (flagged)"
        NOTE = "note", "Note"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.source})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Payment events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class WebhookDelivery(models.Model):
    """A webhook POST from VCC, stored raw before anything else is done with it."""

    class Status(models.TextChoices):
        # Stored, waiting for VCC's own word on the session (docs/results.md).
        RECEIVED = "received", "Received (awaiting VCC's confirmation)"
        CONFIRMED = "confirmed", "Confirmed by VCC"
        CONTRADICTED = "contradicted", "Contradicted by VCC (flagged)"
        UNCONFIRMED = "unconfirmed", "Unconfirmed: VCC could not be read"
        # Deliveries applied before results were confirmed with VCC.
        PROCESSED = "processed", "Processed (before confirmation)"
        IGNORED = "ignored", "Ignored"
        INVALID = "invalid", "Invalid"

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.TextField()
    # What the original (unredacted) body said, card-free: the facts processing reads, so
    # redaction can never change a result (payments.vcc.parsing.status_facts).
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.CharField(max_length=500, blank=True)
    session_guid = models.CharField(max_length=64, blank=True, db_index=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.session_guid or 'no session'})"
