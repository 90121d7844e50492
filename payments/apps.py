from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import admin_webhooks  # noqa: F401  (registers the deliveries' admin)
        from payments.vcc import accounts  # noqa: F401  (registers the account checks)
