from django.apps import AppConfig


class AgentdeskConfig(AppConfig):
    name = "agentdesk"
    verbose_name = "Agent desk"
