"""payments/vcc/accounts.py and PaymentFlow: accounts from the environment checked by
`manage.py check` (one message per misconfiguration, naming the key to fix, never the
secret), and flows in the database expressing both of Vonage's setups — two accounts with their
own credentials and differing accountConfigurationIds, and one account with staging and
production flows side by side — each opening sessions on the right account and id."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from pytest_django import Settings

from payments.models import PaymentFlow
from payments.orders import order_values
from payments.vcc.accounts import (
    BUILTIN_CLIENT_ID,
    BUILTIN_CLIENT_SECRET,
    check_vcc_accounts,
    get_account,
)
from payments.vcc.client import client_for
from payments.vcc.errors import VccUnknownConfigurationError
from payments.vcc.payload import payment_data
from tests import builders
from tests.sandbox_fixtures import Sandbox

ROOT = Path(__file__).resolve().parents[3]
GOOD = {
    "AUTH_URL": "",
    "REGION": "emea",
    "API_URL": "https://emea.example.com/payments",
    "CLIENT_ID": "client",
    "CLIENT_SECRET": "s3cret-value",
}


def problems(settings: Settings, accounts: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    settings.VCC_ACCOUNTS = accounts
    return [(message.msg, message.hint or "") for message in check_vcc_accounts()]


# --- Accounts and manage.py check ---------------------------------------------------------


def test_a_good_account_passes_and_its_region_gives_the_token_url(settings: Settings) -> None:
    assert problems(settings, {"live": GOOD}) == []
    account = get_account("live")
    assert account.auth_url == "https://emea.cc.vonage.com/Auth/connect/token"
    assert account.api_url == "https://emea.example.com/payments"
    assert "s3cret-value" not in repr(account)


@pytest.mark.parametrize(
    ("change", "words", "key"),
    [
        ({"REGION": ""}, "has no token URL", "VCC_LIVE_AUTH_URL"),
        ({"REGION": "mars"}, "unknown region 'mars'", "VCC_LIVE_REGION"),
        ({"AUTH_URL": "emea.cc.vonage.com/token"}, "is not an http(s) URL", "VCC_LIVE_AUTH_URL"),
        ({"API_URL": ""}, "has no Payment API base URL", "VCC_LIVE_API_URL"),
        ({"API_URL": "ftp://files.example.com"}, "is not an http(s) URL", "VCC_LIVE_API_URL"),
        ({"CLIENT_ID": ""}, "has no client id", "VCC_LIVE_CLIENT_ID"),
        ({"CLIENT_SECRET": " "}, "has no client secret", "VCC_LIVE_CLIENT_SECRET"),
    ],
)
def test_each_misconfiguration_names_the_key_to_fix(
    settings: Settings, change: dict[str, str], words: str, key: str
) -> None:
    [(message, hint)] = problems(settings, {"live": {**GOOD, **change}})
    assert words in message
    assert hint == f"Fix {key}."
    assert "s3cret-value" not in message


def test_the_builtin_account_needs_the_sandbox(settings: Settings) -> None:
    settings.VCC_SANDBOX_ENABLED = False
    [(message, hint)] = problems(settings, {"builtin": {}})
    assert "sandbox is off" in message
    assert hint == "Fix VCC_SANDBOX_ENABLED."


def test_no_account_at_all_is_reported(settings: Settings) -> None:
    [(message, hint)] = problems(settings, {})
    assert message == "No VCC account is configured."
    assert "VCC_ACCOUNTS" in hint


def test_manage_py_check_reports_every_broken_account(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VCC_") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
            "VAR_DIR": str(tmp_path),
            "VCC_ACCOUNTS": "sandbox,production",
            "VCC_SANDBOX_REGION": "europe",
            "VCC_SANDBOX_API_URL": "https://emea.example.com/payments",
            "VCC_SANDBOX_CLIENT_ID": "a",
            "VCC_SANDBOX_CLIENT_SECRET": "secret-a-123",
            "VCC_PRODUCTION_AUTH_URL": "https://emea.cc.vonage.com/Auth/connect/token",
            "VCC_PRODUCTION_API_URL": "https://emea.example.com/payments",
            "VCC_PRODUCTION_CLIENT_ID": "b",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.count("vcc.E001") == 2
    assert "VCC account 'sandbox' has unknown region 'europe'" in result.stderr
    assert "HINT: Fix VCC_SANDBOX_REGION." in result.stderr
    assert "VCC account 'production' has no client secret" in result.stderr
    assert "HINT: Fix VCC_PRODUCTION_CLIENT_SECRET." in result.stderr
    assert "secret-a-123" not in result.stderr + result.stdout


# --- Flows ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_flow_must_name_a_configured_account(settings: Settings) -> None:
    settings.VCC_ACCOUNTS = {"builtin": {}, "production": GOOD}
    flow = PaymentFlow(name="Cards", account="prod", environment=PaymentFlow.Environment.PRODUCTION)
    with pytest.raises(ValidationError) as raised:
        flow.full_clean()
    assert raised.value.message_dict["account"] == [
        "Unknown VCC account; configured: builtin, production."
    ]


@pytest.mark.django_db
def test_a_staging_flow_is_marked() -> None:
    staging = builders.flow(name="Cards", environment=PaymentFlow.Environment.STAGING)
    production = builders.flow(
        name="Cards live", environment=PaymentFlow.Environment.PRODUCTION, is_default=False
    )
    assert (str(staging), str(production)) == ("Cards [STAGING]", "Cards live")


def test_admin_lists_flows_with_their_environment(administrator_user: User) -> None:
    builders.flow(name="Cards", environment=PaymentFlow.Environment.STAGING)
    client = Client()
    client.force_login(administrator_user)
    page = client.get("/admin/payments/paymentflow/").content.decode()
    assert "Cards" in page
    assert "Staging" in page


def sandbox_account(sandbox: Sandbox, client_id: str, secret: str) -> dict[str, str]:
    """An account configured the way a real one is, whose URLs are the sandbox's."""
    return {
        "AUTH_URL": f"{sandbox.url}/vcc/Auth/connect/token",
        "REGION": "",
        "API_URL": f"{sandbox.url}/vcc/api",
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": secret,
    }


def open_for(flow: PaymentFlow) -> str:
    """What start_payment does with a flow: its account's client, its id, its keys."""
    return (
        client_for(flow.account)
        .create_session(
            agent_id="1001",
            payment_data=payment_data(order_values(builders.order()), flow.payment_data_keys),
            account_configuration_id=flow.account_configuration_id,
        )
        .session_guid
    )


def test_two_accounts_with_their_own_credentials_and_ids(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Vonage's first setup: a sandbox account (staging provider) and a production account,
    separate credentials, and ids that differ (staging id 1 is production id 4)."""
    settings.VCC_SANDBOX_CLIENTS = {
        BUILTIN_CLIENT_ID: {"secret": BUILTIN_CLIENT_SECRET, "configuration_ids": [1]},
        "client-a": {"secret": "secret-a", "account": "acme-sandbox", "configuration_ids": [1, 2]},
        "client-b": {"secret": "secret-b", "account": "acme-live", "configuration_ids": [4, 5]},
    }
    settings.VCC_ACCOUNTS = {
        "sandbox": sandbox_account(sandbox, "client-a", "secret-a"),
        "production": sandbox_account(sandbox, "client-b", "secret-b"),
    }
    assert check_vcc_accounts() == []
    staging = builders.flow(
        name="Cards", account="sandbox", account_configuration_id=1, is_default=False
    )
    live = builders.flow(
        name="Cards live",
        account="production",
        account_configuration_id=4,
        environment=PaymentFlow.Environment.PRODUCTION,
        is_default=False,
    )
    for flow in (staging, live):
        flow.full_clean()

    seen = [sandbox.session(open_for(flow)) for flow in (staging, live)]
    assert [(s["account"], s["account_configuration_id"]) for s in seen] == [
        ("acme-sandbox", 1),
        ("acme-live", 4),
    ]
    assert sandbox.stats()["token_requests"] == 2  # one token per account

    # The staging id means nothing on the production account.
    wrong = builders.flow(
        name="Wrong id",
        account="production",
        account_configuration_id=1,
        environment=PaymentFlow.Environment.PRODUCTION,
        is_default=False,
    )
    with pytest.raises(VccUnknownConfigurationError, match="'production'"):
        open_for(wrong)


def test_one_account_with_staging_and_production_flows(
    sandbox: Sandbox, settings: Settings
) -> None:
    """Vonage's second setup: one account wired to both provider environments."""
    staging = builders.flow(name="Cards", account="builtin", account_configuration_id=1)
    live = builders.flow(
        name="Cards live",
        account="builtin",
        account_configuration_id=4,
        environment=PaymentFlow.Environment.PRODUCTION,
        is_default=False,
    )
    seen: list[dict[str, Any]] = [sandbox.session(open_for(flow)) for flow in (staging, live)]
    assert [s["account_configuration_id"] for s in seen] == [1, 4]
    assert {s["account"] for s in seen} == {"builtin-sandbox"}
    assert seen[0]["payment_data"]["Amount"] == "12.40"
    assert sandbox.stats()["token_requests"] == 1


def test_a_flow_can_remap_payment_data_keys(sandbox: Sandbox) -> None:
    flow = builders.flow(
        payment_data_keys={"amount": "amount", "currency": "currencyCode", "last_name": "Surname"}
    )
    data = sandbox.session(open_for(flow))["payment_data"]
    assert data["amount"] == "12.40"
    assert data["currencyCode"] == "GBP"
    assert data["FirstName"] == "Priya"  # keys not remapped keep the contract's default
