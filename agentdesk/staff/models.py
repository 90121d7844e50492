"""Agents: the people at the desk, each tied to the VCC agent whose live call takes the payment."""

from django.conf import settings
from django.db import models

from agentdesk.shared.times import when

# Role groups, created by a migration (agentdesk/migrations/0002_roles.py).
AGENTS = "Agents"
SUPERVISORS = "Supervisors"
ADMINISTRATORS = "Administrators"


class Agent(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    vcc_agent_id = models.CharField(
        "VCC agent id",
        max_length=64,
        unique=True,
        help_text="The agent's id in Vonage Contact Center (sent as agentId).",
    )

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.get_username()
        return f"{name} ({self.vcc_agent_id})"


class AuditEntry(models.Model):
    """Who did what, when: sign-ins, payment starts and retries, resolutions, admin changes.
    Append-only; written through agentdesk.staff.audit.record()."""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_OUT = "sign_out", "Signed out"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_RETRIED = "payment_retried", "Payment retried"
        PAYMENT_RESOLVED = "payment_resolved", "Payment resolved"
        PAYMENTS_EXPORTED = "payments_exported", "Payments exported"
        ADMIN_CHANGE = "admin_change", "Admin change"
        WEBHOOK_TOKEN_REFUSED = "webhook_token_refused", "Webhook token refused"
        SIGN_IN_UNLOCKED = "sign_in_unlocked", "Sign-in unlocked"
        SECOND_FACTOR_ENROLLED = "second_factor_enrolled", "Second factor set up"
        SECOND_FACTOR_FAILED = "second_factor_failed", "Second factor refused"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The username as typed (failed sign-ins have no user) or of the actor at the time.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    target = models.CharField(max_length=200, blank=True, help_text="What it was done to.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit trail"

    def __str__(self) -> str:
        return f"{when(self.created_at)}: {self.actor_name} {self.get_action_display().lower()}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
