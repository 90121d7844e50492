"""agentdesk/settings.py: every environment-dependent value comes from the environment, and the
production profile refuses to start when unsafe. Each case starts a fresh Python process, the
way web, worker and beat read their settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k9#Qv2$Lr7!xP4@mZ8^tW1&bN6*cY3(hJ5)gF0_dS-aE+uR=oI"
SETTING_KEYS = (
    "DJANGO_ENV DEBUG SECRET_KEY ALLOWED_HOSTS DATABASE_URL REDIS_URL CELERY_BROKER_URL "
    "VCC_SANDBOX_ENABLED VCC_ACCOUNTS SITE_URL VAR_DIR ENV_FILE WEBHOOK_CLIENT_ID "
    "WEBHOOK_CLIENT_SECRET MFA_REQUIRED_FOR_STAFF MFA_FOR_AGENTS TRUSTED_PROXIES "
    "LOGIN_FAILURE_LIMIT LOGIN_FAILURE_WINDOW_SECONDS"
).split()


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_KEYS}
    clean.update({"DJANGO_SETTINGS_MODULE": "agentdesk.settings", "VAR_DIR": str(tmp_path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def read_settings(tmp_path: Path, *names: str, **env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_python(code, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION_OK = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": GOOD_SECRET,
    "ALLOWED_HOSTS": "desk.example.com",
    "VCC_ACCOUNTS": "live",
    "VCC_LIVE_REGION": "emea",
    "VCC_LIVE_API_URL": "https://emea.api.example.com/payments",
    "VCC_LIVE_CLIENT_ID": "client",
    "VCC_LIVE_CLIENT_SECRET": "secret",
}


def test_embedded_defaults_need_no_server(tmp_path: Path) -> None:
    values = read_settings(tmp_path, "DATABASES", "CELERY_BROKER_URL", "CACHES", "VCC_ACCOUNTS")
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CELERY_BROKER_URL"] == "filesystem://localhost/"
    assert "FileBasedCache" in values["CACHES"]["default"]["BACKEND"]
    assert list(values["VCC_ACCOUNTS"]) == ["builtin"]


def test_database_and_redis_come_from_the_environment(tmp_path: Path) -> None:
    values = read_settings(
        tmp_path,
        "DATABASES",
        "CELERY_BROKER_URL",
        "CACHES",
        DATABASE_URL="postgres://desk:pw@db.internal:5433/desk",
        REDIS_URL="redis://cache.internal:6380/2",
    )
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "desk")
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6380/2"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://cache.internal:6380/2"


def test_env_file_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("ALLOWED_HOSTS=from-file.example.com\nSITE_URL=https://file.example.com\n")
    values = read_settings(
        tmp_path,
        "ALLOWED_HOSTS",
        "SITE_URL",
        ENV_FILE=str(env_file),
        SITE_URL="https://process.example.com",
    )
    assert values == {
        "ALLOWED_HOSTS": ["from-file.example.com"],
        "SITE_URL": "https://process.example.com",
    }


def test_good_production_profile_starts_and_is_hardened(tmp_path: Path) -> None:
    values = read_settings(
        tmp_path,
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "VCC_SANDBOX_ENABLED",
        "MFA_REQUIRED_FOR_STAFF",
        "MFA_FOR_AGENTS",
        **PRODUCTION_OK,
    )
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "VCC_SANDBOX_ENABLED": False,
        "MFA_REQUIRED_FOR_STAFF": True,
        "MFA_FOR_AGENTS": False,
    }


def test_production_passes_check_deploy_without_warnings(tmp_path: Path) -> None:
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    result = run_python(code, tmp_path, **PRODUCTION_OK)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production"}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too weak"),
        ({"VCC_SANDBOX_ENABLED": "true"}, "VCC_SANDBOX_ENABLED is on"),
        ({"VCC_ACCOUNTS": "builtin"}, "names the built-in sandbox"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"ALLOWED_HOSTS": "desk.example.com,*"}, "ALLOWED_HOSTS holds '*'"),
        (
            {"WEBHOOK_CLIENT_ID": "vonage", "WEBHOOK_CLIENT_SECRET": "builtin-webhook-secret"},
            "WEBHOOK_CLIENT_SECRET is missing or published",
        ),
        (
            {"WEBHOOK_CLIENT_ID": "builtin-webhook-client", "WEBHOOK_CLIENT_SECRET": GOOD_SECRET},
            "WEBHOOK_CLIENT_ID is a published value",
        ),
        (
            {"WEBHOOK_CLIENT_ID": "vonage", "WEBHOOK_CLIENT_SECRET": "s3cret-s3cret"},
            "WEBHOOK_CLIENT_SECRET is too weak",
        ),
        (
            {"WEBHOOK_CLIENT_ID": "vonage", "WEBHOOK_CLIENT_SECRET": "a" * 40},
            "WEBHOOK_CLIENT_SECRET is too weak",
        ),
        ({"MFA_REQUIRED_FOR_STAFF": "false"}, "MFA_REQUIRED_FOR_STAFF is off"),
        ({"LOGIN_FAILURE_LIMIT": "11"}, "LOGIN_FAILURE_LIMIT must be between 1 and 10"),
        ({"LOGIN_FAILURE_WINDOW_SECONDS": "900"}, "LOGIN_FAILURE_WINDOW_SECONDS must be at least"),
        (
            # Any value .env.example publishes, not only the webhook defaults.
            {
                "WEBHOOK_CLIENT_ID": "vonage",
                "WEBHOOK_CLIENT_SECRET": "dev-only-insecure-key-do-not-use-in-production",
            },
            "WEBHOOK_CLIENT_SECRET is missing or published",
        ),
    ],
)
def test_production_refuses_to_start_when_unsafe(
    tmp_path: Path, change: dict[str, str], complaint: str
) -> None:
    env = {**PRODUCTION_OK, **change}
    result = run_python("import django; django.setup()", tmp_path, **env)
    assert result.returncode != 0
    assert "Refusing to start with DJANGO_ENV=production" in result.stderr
    assert complaint in result.stderr


def test_development_signs_staff_in_with_a_password_alone(tmp_path: Path) -> None:
    values = read_settings(tmp_path, "MFA_REQUIRED_FOR_STAFF", "MFA_FOR_AGENTS")
    assert values == {"MFA_REQUIRED_FOR_STAFF": False, "MFA_FOR_AGENTS": False}


def test_a_trusted_proxy_that_is_no_address_is_refused(tmp_path: Path) -> None:
    result = run_python("import django; django.setup()", tmp_path, TRUSTED_PROXIES="lb.local")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr


def test_production_names_every_problem_at_once(tmp_path: Path) -> None:
    result = run_python(
        "import django; django.setup()", tmp_path, DJANGO_ENV="production", DEBUG="true"
    )
    assert result.returncode != 0
    for complaint in ("DEBUG is on", "SECRET_KEY is missing", "ALLOWED_HOSTS is empty"):
        assert complaint in result.stderr


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    result = run_python("import django; django.setup()", tmp_path, DJANGO_ENV="prod")
    assert result.returncode != 0
    assert "DJANGO_ENV must be 'development' or 'production'" in result.stderr


# A forged delivery's first step: a token from our endpoint with the published credentials.
FORGE = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from payments.models import WebhookDelivery
client = Client(HTTP_HOST="desk.example.com")
token = client.post(
    "/payments/webhook/token",
    {"grant_type": "client_credentials", "client_id": "builtin-webhook-client",
     "client_secret": "builtin-webhook-secret"},
    secure=True,
)
forged = client.post(
    "/payments/webhook/vcc",
    json.dumps({"sessionGuid": "3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f", "sessionState": "Finished",
                "paymentResultData": {"decision": "ACCEPT"}}),
    content_type="application/json",
    headers={"Authorization": "Bearer " + token.json().get("access_token", "none")},
    secure=True,
)
print(json.dumps([token.status_code, forged.status_code, WebhookDelivery.objects.count()]))
"""


def test_production_refuses_to_start_with_the_published_webhook_credentials(
    tmp_path: Path,
) -> None:
    result = run_python(
        FORGE,
        tmp_path,
        **PRODUCTION_OK,
        WEBHOOK_CLIENT_ID="builtin-webhook-client",
        WEBHOOK_CLIENT_SECRET="builtin-webhook-secret",
    )
    assert result.returncode != 0
    assert "Refusing to start with DJANGO_ENV=production" in result.stderr
    assert "WEBHOOK_CLIENT_SECRET is missing or published" in result.stderr


def test_a_forged_webhook_with_the_published_credentials_is_refused_in_production(
    tmp_path: Path,
) -> None:
    result = run_python(
        FORGE,
        tmp_path,
        **PRODUCTION_OK,
        WEBHOOK_CLIENT_ID="vonage-webhook",
        WEBHOOK_CLIENT_SECRET=GOOD_SECRET,
    )
    assert result.returncode == 0, result.stderr
    token_status, forged_status, stored = json.loads(result.stdout.strip().splitlines()[-1])
    assert (token_status, forged_status, stored) == (401, 401, 0)
