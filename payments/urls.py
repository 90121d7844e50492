"""The payments app's URLs, under /payments/."""

from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("webhook/token", views.webhook_token, name="webhook-token"),
    path("webhook/vcc", views.webhook, name="webhook"),
]
