"""`manage.py vcc_check [ACCOUNT...]` and the token cache key: a changed VCC client secret is
noticed at once, not when the cached token expires; against the sandbox over real HTTP."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django import Settings

from payments.vcc.accounts import BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET, TOKEN_PATH
from payments.vcc.client import client_for
from payments.vcc.errors import VccCredentialsError
from tests.sandbox_fixtures import Sandbox


def staging(settings: Settings, *, secret: str, forget: bool = True) -> None:
    """An account 'staging' on the sandbox's VCC, with the client secret `secret`; `forget`
    drops a token earlier runs left in the shared cache under it."""
    base = f"{settings.SITE_URL}/sandbox/vcc"
    settings.VCC_ACCOUNTS = {
        **settings.VCC_ACCOUNTS,
        "staging": {
            "AUTH_URL": base + TOKEN_PATH,
            "API_URL": base + "/api",
            "REGION": "",
            "CLIENT_ID": BUILTIN_CLIENT_ID,
            "CLIENT_SECRET": secret,
        },
    }
    if forget:
        client_for("staging").forget_token()


def check(*accounts: str) -> str:
    out = StringIO()
    try:
        call_command("vcc_check", *accounts, stdout=out)
    except CommandError as error:
        out.write(f"FAILED {error}")
    return out.getvalue()


def test_vcc_check_prints_ok_per_account(sandbox: Sandbox, settings: Settings) -> None:
    staging(settings, secret=BUILTIN_CLIENT_SECRET)
    before = sandbox.stats()["token_requests"]
    assert check("staging", "builtin") == "staging: OK\nbuiltin: OK\n"
    assert sandbox.stats()["token_requests"] == before + 2


def test_vcc_check_fetches_a_fresh_token_even_when_one_is_cached(
    sandbox: Sandbox, settings: Settings
) -> None:
    staging(settings, secret=BUILTIN_CLIENT_SECRET)
    client_for("staging").token()
    before = sandbox.stats()["token_requests"]
    assert check("staging") == "staging: OK\n"
    assert sandbox.stats()["token_requests"] == before + 1


def test_a_changed_secret_is_noticed_at_once(sandbox: Sandbox, settings: Settings) -> None:
    staging(settings, secret=BUILTIN_CLIENT_SECRET)
    client_for("staging").token()
    staging(settings, secret="a-new-and-wrong-secret", forget=False)
    with pytest.raises(VccCredentialsError, match="invalid_client"):
        client_for("staging").token()
    out = check("staging")
    assert out.startswith("staging: VccCredentialsError: VCC refused the API client credentials")
    assert "FAILED 1 of 1 accounts failed: staging" in out
    assert "a-new-and-wrong-secret" not in out


def test_an_unknown_account_is_named_with_its_error(sandbox: Sandbox) -> None:
    out = check("nosuch")
    assert out.startswith("nosuch: AccountConfigError: VCC account 'nosuch' is not in VCC_ACCOUNTS")
