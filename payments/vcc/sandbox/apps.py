from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SandboxConfig(AppConfig):
    name = "payments.vcc.sandbox"
    label = "vcc_sandbox"
    verbose_name = "VCC sandbox"

    def ready(self) -> None:
        # settings.py only installs this app when the sandbox is enabled, and production
        # refuses that; this stops a hand-edited INSTALLED_APPS from sneaking it in.
        if settings.PRODUCTION or not settings.VCC_SANDBOX_ENABLED:
            raise ImproperlyConfigured(
                "The built-in VCC sandbox is installed but VCC_SANDBOX_ENABLED is off or the "
                "production profile is on: it must never run in production."
            )
