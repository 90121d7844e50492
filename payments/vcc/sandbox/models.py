"""The sandbox's state, in the database so that every web process (and the webhook thread of
each) sees the same sessions, tokens, knobs and counters.

Keyed digits live here only while a session is being keyed: they are dropped the moment the
session finishes, and never logged.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Knobs(models.Model):
    """Run-time settings of the sandbox: one row, defaults from Django settings, changed by
    the control API (`POST control/knobs`), restored by `POST control/reset`."""

    token_lifetime_seconds = models.PositiveIntegerField()
    # VCC has been seen answering both "Bearer" and "bearer".
    token_type = models.CharField(max_length=20, default="Bearer")
    retention_seconds = models.FloatField()
    page_lifetime_seconds = models.FloatField()
    webhooks = models.BooleanField()
    webhook_retry_seconds = models.FloatField()
    webhook_give_up_seconds = models.FloatField()
    # Add keys the contract does not know to every answer (the client must ignore them).
    extra_keys = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "knobs"

    def __str__(self) -> str:
        return "Sandbox knobs"

    @classmethod
    def current(cls) -> "Knobs":
        knobs, _ = cls.objects.get_or_create(pk=1, defaults=cls.defaults())
        return knobs

    @staticmethod
    def defaults() -> dict[str, object]:
        return {
            "token_lifetime_seconds": 3600,  # VCC documents 3600, sometimes 7200
            "token_type": "Bearer",
            "retention_seconds": settings.VCC_SANDBOX_RETENTION_SECONDS,
            "page_lifetime_seconds": settings.VCC_PAGE_LIFETIME.total_seconds(),
            "webhooks": settings.VCC_SANDBOX_WEBHOOKS,
            # VCC retries a webhook every few minutes for 12 hours; the sandbox sooner.
            "webhook_retry_seconds": 30,
            "webhook_give_up_seconds": 12 * 3600,
            "extra_keys": False,
        }


class AccessToken(models.Model):
    """An OAuth access token the sandbox issued to an API client."""

    token = models.CharField(max_length=100, unique=True)
    client_id = models.CharField(max_length=100)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Token for {self.client_id}"

    @property
    def is_valid(self) -> bool:
        return self.expires_at > timezone.now()


class Session(models.Model):
    """A payment session: VCC's side (GUIDs, state, result) and the provider's (the agent
    page, the caller's keyed digits)."""

    class Kind(models.TextChoices):
        AGENT_ASSIST = "agent", "Agent assist"
        DIGITAL = "digital", "Pay by link"

    class State(models.TextChoices):
        CREATED = "Created"
        IN_PROGRESS = "InProgress"
        FINISHED = "Finished"

    class Step(models.TextChoices):
        CARD_NUMBER = "card_number", "Card number"
        EXPIRY = "expiry", "Expiry date"
        SECURITY_CODE = "security_code", "Security code"
        READY = "ready", "Ready to submit"
        DONE = "done", "Done"

    guid = models.UUIDField(default=uuid.uuid4, unique=True)
    # The provider's own identifiers: its agent page is /provider/view/<page_id>/framed.
    page_id = models.UUIDField(default=uuid.uuid4, unique=True)
    provider_session_guid = models.UUIDField(default=uuid.uuid4)
    call_guid = models.UUIDField(default=uuid.uuid4)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.AGENT_ASSIST)
    client_id = models.CharField(max_length=100)
    account = models.CharField(max_length=100)
    account_configuration_id = models.IntegerField(null=True, blank=True)
    agent_id = models.CharField(max_length=100)
    skip_call_transfer = models.BooleanField(default=False)
    payment_data = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=State.choices, default=State.CREATED)
    # What GET answers as sessionState when a test wants a state the contract does not name.
    reported_state = models.CharField(max_length=40, blank=True)
    agent_access_token = models.CharField(max_length=100)
    agent_refresh_token = models.CharField(max_length=100)
    created_on = models.DateTimeField(default=timezone.now)
    last_updated_on = models.DateTimeField(default=timezone.now)
    finished_on = models.DateTimeField(null=True, blank=True)
    page_expires_at = models.DateTimeField()
    step = models.CharField(max_length=16, choices=Step.choices, default=Step.CARD_NUMBER)
    card_number = models.CharField(max_length=19, blank=True)
    expiry = models.CharField(max_length=4, blank=True)
    security_code = models.CharField(max_length=4, blank=True)
    # What the caller's phone says after the last key (e.g. "not a valid card number").
    prompt = models.CharField(max_length=200, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    result = models.JSONField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # A fault knob for a payment link: the caller never opens it (the hosted form refuses it),
    # so the session stays untouched and live until its end.
    never_opened = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_on", "-pk"]

    def __str__(self) -> str:
        return str(self.guid)

    @property
    def is_finished(self) -> bool:
        return self.state == self.State.FINISHED

    @property
    def page_expired(self) -> bool:
        return self.purged_at is not None or timezone.now() >= self.page_expires_at

    @property
    def is_live(self) -> bool:
        """The caller can still key digits."""
        return not self.is_finished and not self.page_expired

    @property
    def link_ended_unused(self) -> bool:
        """A payment link that ended before the caller paid (its end came, or a test ended it)."""
        return self.kind == self.Kind.DIGITAL and self.result is None and self.page_expired

    def drop_keyed_digits(self) -> None:
        self.card_number = self.expiry = self.security_code = ""


class WebhookDelivery(models.Model):
    """One finished session's webhook: sent until answered 200, or given up."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        GAVE_UP = "gave_up"
        OFF = "off", "Off (webhooks switched off)"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="webhooks")
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Claimed by one dispatcher (one process) until then: no double sending.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"Webhook for {self.session_id} ({self.status})"


class Fault(models.Model):
    """A fault knob: what goes wrong with matching calls, for the next `remaining` calls
    (None: until cleared)."""

    class Path(models.TextChoices):
        ANY = "any"
        TOKEN = "token"
        CREATE = "create"
        GET = "get"

    path = models.CharField(max_length=10, choices=Path.choices, default=Path.ANY)
    latency_ms = models.PositiveIntegerField(default=0)
    # Probability of answering a 5xx (status_code, else 503).
    error_rate = models.FloatField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    # Answer 429 with this Retry-After (seconds).
    rate_limit = models.FloatField(null=True, blank=True)
    # Handle the call, then sleep this long before answering (longer than the read timeout).
    timeout_seconds = models.FloatField(null=True, blank=True)
    malformed = models.BooleanField(default=False)
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Fault on {self.path} calls"


class Call(models.Model):
    """One request to the sandbox's token endpoint or Payment API, for `control/stats`."""

    class Kind(models.TextChoices):
        TOKEN = "token"
        CREATE = "create"
        DIGITAL = "digital"
        GET = "get"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.PositiveIntegerField()
    fault = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
