"""The agent desktop's project package: settings, URLs, the Celery app and the desk itself."""

from agentdesk.celery import app as celery_app

__all__ = ("celery_app",)
