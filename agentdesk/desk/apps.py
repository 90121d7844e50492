from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "agentdesk.desk"
    label = "desk"
    verbose_name = "Agent desk"
