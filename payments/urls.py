"""The payments app's URLs, under /payments/."""

from django.urls import path

from payments import webhooks

app_name = "payments"
urlpatterns = [
    path("webhook/token", webhooks.token, name="webhook-token"),
    path("webhook/vcc", webhooks.receive, name="webhook"),
]
