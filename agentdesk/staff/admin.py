"""Agents, users and groups (administrators manage them) and the audit trail (read-only)."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User

from agentdesk.staff.admin_base import AuditedModelAdmin, HistoryAdmin
from agentdesk.staff.models import Agent, AuditEntry


@admin.register(Agent)
class AgentAdmin(AuditedModelAdmin):
    list_display = ["__str__", "vcc_agent_id"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "vcc_agent_id"]
    autocomplete_fields = ["user"]


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(AuditedModelAdmin, auth_admin.UserAdmin):  # type: ignore[misc]
    pass


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, auth_admin.GroupAdmin):  # type: ignore[misc]
    pass


@admin.register(AuditEntry)
class AuditEntryAdmin(HistoryAdmin):
    """Who did what and when: sign-ins, payment starts and retries, resolutions, exports and
    admin changes. Nobody edits or deletes it."""

    list_display = ["created_at", "actor_name", "action", "target", "ip_address", "details"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["^actor_name", "^target"]
    search_help_text = "The start of a username, or of what it was done to."
    date_hierarchy = "created_at"
    change_list_template = "admin/history_change_list.html"
    sortable_by = ()
