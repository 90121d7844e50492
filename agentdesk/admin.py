from django.contrib import admin

from agentdesk.models import Agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "vcc_agent_id"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "vcc_agent_id"]
    autocomplete_fields = ["user"]
