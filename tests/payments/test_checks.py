"""`manage.py check` (payments/checks.py): an active payment flow on a VCC account missing from
VCC_ACCOUNTS is reported with its id and a hint; an inactive one is not."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests import builders

pytestmark = pytest.mark.django_db


def test_an_active_flow_on_an_unlisted_account_fails_the_check() -> None:
    builders.flow(name="Old gateway", account="retired", is_default=False)
    with pytest.raises(SystemCheckError) as failed:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    message = str(failed.value)
    assert "payments.E001" in message
    assert "Payment flow 'Old gateway' is active but its VCC account 'retired'" in message
    assert "HINT: Add 'retired' to VCC_ACCOUNTS with its VCC_RETIRED_* keys" in message


def test_inactive_flows_and_listed_accounts_pass() -> None:
    builders.flow(name="Staging cards", account="builtin")
    builders.flow(name="Old gateway", account="retired", is_default=False, is_active=False)
    out = StringIO()
    call_command("check", stdout=out, stderr=StringIO())
    assert "no issues" in out.getvalue()
