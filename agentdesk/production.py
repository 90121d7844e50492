"""The production profile's refusals: an unsafe production configuration must not start.

Called at the end of settings.py, so every process (web, worker, beat, manage.py) refuses
alike, with one message naming every key to fix.
"""

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Secrets that ship in this repository or in its docs: never good enough for production.
KNOWN_SECRET_KEYS = frozenset({"", "dev-only-insecure-key-do-not-use-in-production", "change-me"})
MIN_SECRET_KEY_LENGTH = 50
# The webhook credentials the built-in sandbox uses (agentdesk/settings.py's development
# defaults): anyone who has read this repository knows them.
PUBLISHED_WEBHOOK_CREDENTIALS = frozenset({"builtin-webhook-client", "builtin-webhook-secret"})
MIN_WEBHOOK_SECRET_LENGTH = 32
# PCI DSS 8.3.4: lock after at most 10 failed attempts, for at least 30 minutes.
MAX_SIGN_IN_FAILURES = 10
MIN_SIGN_IN_LOCK = timedelta(minutes=30)
ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
_ENV_LINE = re.compile(r"^[ \t]*#?[ \t]*[A-Z][A-Z0-9_]*=(.*)$", re.MULTILINE)


def published_values() -> frozenset[str]:
    """Every value written in .env.example, commented-out examples too (when it ships with
    the code): published, so never a credential."""
    try:
        text = ENV_EXAMPLE.read_text()
    except OSError:
        return frozenset()
    values = (match.group(1).strip().strip("\"'") for match in _ENV_LINE.finditer(text))
    return frozenset(value for value in values if value)


def _webhook_problems(settings: Mapping[str, object]) -> list[str]:
    client_id = str(settings.get("WEBHOOK_CLIENT_ID") or "")
    secret = str(settings.get("WEBHOOK_CLIENT_SECRET") or "")
    if not client_id and not secret:
        return []  # webhooks refused; polling alone brings results home
    published = PUBLISHED_WEBHOOK_CREDENTIALS | published_values()
    problems = []
    if client_id in published:
        problems.append(
            "WEBHOOK_CLIENT_ID is a published value: choose your own client id for Vonage."
        )
    if secret in published or secret in KNOWN_SECRET_KEYS:
        problems.append(
            "WEBHOOK_CLIENT_SECRET is missing or published: set a new random one and give it "
            "to Vonage."
        )
    elif len(secret) < MIN_WEBHOOK_SECRET_LENGTH or len(set(secret)) < 8:
        problems.append(
            f"WEBHOOK_CLIENT_SECRET is too weak: use at least {MIN_WEBHOOK_SECRET_LENGTH} "
            "random characters."
        )
    return problems


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
    limit = settings.get("LOGIN_FAILURE_LIMIT")
    if not isinstance(limit, int) or not 0 < limit <= MAX_SIGN_IN_FAILURES:
        problems.append(
            f"LOGIN_FAILURE_LIMIT must be between 1 and {MAX_SIGN_IN_FAILURES} (PCI DSS 8.3.4)."
        )
    window = settings.get("LOGIN_FAILURE_WINDOW")
    if not isinstance(window, timedelta) or window < MIN_SIGN_IN_LOCK:
        problems.append(
            "LOGIN_FAILURE_WINDOW_SECONDS must be at least "
            f"{int(MIN_SIGN_IN_LOCK.total_seconds())} (PCI DSS 8.3.4: a 30-minute lock)."
        )
    if not settings.get("MFA_REQUIRED_FOR_STAFF"):
        problems.append(
            "MFA_REQUIRED_FOR_STAFF is off: supervisors and administrators must use a second "
            "factor in production (PCI DSS 8.4.2)."
        )
    problems.extend(_webhook_problems(settings))
    metrics_token = str(settings.get("METRICS_TOKEN") or "")
    if metrics_token and (
        metrics_token in published_values() or len(metrics_token) < MIN_WEBHOOK_SECRET_LENGTH
    ):
        problems.append(
            f"METRICS_TOKEN is published or too weak: use at least {MIN_WEBHOOK_SECRET_LENGTH} "
            "random characters (or leave it empty: /metrics is then not served)."
        )
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
