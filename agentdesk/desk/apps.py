from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "agentdesk.desk"
    label = "desk"
    verbose_name = "Agent desk"

    def ready(self) -> None:
        # The status poll's grant ends when its user signs out (a signal receiver).
        from agentdesk.desk import quickpoll  # noqa: F401
