"""The production profile's refusals: an unsafe production configuration must not start.

Called at the end of settings.py, so every process (web, worker, beat, manage.py) refuses
alike, with one message naming every key to fix.
"""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

# Secrets that ship in this repository or in its docs: never good enough for production.
KNOWN_SECRET_KEYS = frozenset({"", "dev-only-insecure-key-do-not-use-in-production", "change-me"})
MIN_SECRET_KEY_LENGTH = 50


def production_problems(settings: Mapping[str, object]) -> list[str]:
    """What makes `settings` unsafe to run in production; empty when it is fine."""
    problems = []
    if settings.get("DEBUG"):
        problems.append("DEBUG is on: set DEBUG=false.")
    secret = str(settings.get("SECRET_KEY") or "")
    if secret in KNOWN_SECRET_KEYS or secret.startswith("django-insecure"):
        problems.append("SECRET_KEY is missing or a published default: set a new random one.")
    elif len(secret) < MIN_SECRET_KEY_LENGTH or len(set(secret)) < 5:
        problems.append(
            f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters."
        )
    if settings.get("VCC_SANDBOX_ENABLED"):
        problems.append("VCC_SANDBOX_ENABLED is on: the built-in sandbox cannot run in production.")
    if settings.get("VCC_SKIP_CALL_TRANSFER"):
        problems.append("VCC_SKIP_CALL_TRANSFER is on: it is for testing without a live call.")
    accounts = settings.get("VCC_ACCOUNTS") or {}
    if "builtin" in accounts:  # type: ignore[operator]
        problems.append("VCC_ACCOUNTS names the built-in sandbox: list real VCC accounts.")
    hosts = settings.get("ALLOWED_HOSTS") or []
    if not hosts:
        problems.append("ALLOWED_HOSTS is empty: list the host names this app answers on.")
    elif "*" in hosts:  # type: ignore[operator]
        problems.append("ALLOWED_HOSTS holds '*': list the host names this app answers on.")
    return problems


def refuse_unsafe_production(settings: Mapping[str, object]) -> None:
    """Raise ImproperlyConfigured when the production profile is on and unsafe."""
    if not settings.get("PRODUCTION"):
        return
    problems = production_problems(settings)
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DJANGO_ENV=production:\n- " + "\n- ".join(problems)
        )
