from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import checks  # noqa: F401  (registers the stored flows' checks)
        from payments.vcc import accounts  # noqa: F401  (registers the account checks)
