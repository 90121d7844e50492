"""Agents: the people at the desk, each tied to the VCC agent whose live call takes the payment."""

from django.conf import settings
from django.db import models

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
