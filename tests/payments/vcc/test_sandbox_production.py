"""The sandbox cannot run in production: the production profile refuses VCC_SANDBOX_ENABLED
(agentdesk/production.py), leaves the app out of INSTALLED_APPS and /sandbox/ out of the URLs,
and the app itself refuses to load if INSTALLED_APPS is edited by hand. Each case is a fresh
process, the way web, worker and beat read their settings."""

import json
from pathlib import Path

from tests.staff.test_settings import PRODUCTION_OK, run_python

SANDBOX_FACTS = """
import json, django
django.setup()
from django.apps import apps
from django.urls import Resolver404, resolve
try:
    resolve("/sandbox/control/reset")
    routed = True
except Resolver404:
    routed = False
print(json.dumps({"installed": apps.is_installed("payments.vcc.sandbox"), "routed": routed}))
"""


def facts(tmp_path: Path, **env: str) -> dict[str, bool]:
    result = run_python(SANDBOX_FACTS, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_has_the_sandbox(tmp_path: Path) -> None:
    assert facts(tmp_path) == {"installed": True, "routed": True}


def test_production_has_no_sandbox(tmp_path: Path) -> None:
    assert facts(tmp_path, **PRODUCTION_OK) == {"installed": False, "routed": False}


def test_production_refuses_to_switch_it_on(tmp_path: Path) -> None:
    result = run_python(
        "import django; django.setup()", tmp_path, **PRODUCTION_OK, VCC_SANDBOX_ENABLED="true"
    )
    assert result.returncode != 0
    assert "VCC_SANDBOX_ENABLED is on: the built-in sandbox cannot run in production" in (
        result.stderr
    )


def test_the_app_refuses_to_load_when_installed_by_hand(tmp_path: Path) -> None:
    (tmp_path / "sneaky_settings.py").write_text(
        "from agentdesk.settings import *  # noqa\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'payments.vcc.sandbox']\n"
    )
    result = run_python(
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import django; django.setup()",
        tmp_path,
        **PRODUCTION_OK,
        DJANGO_SETTINGS_MODULE="sneaky_settings",
    )
    assert result.returncode != 0
    assert "must never run in production" in result.stderr
