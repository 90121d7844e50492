"""`manage.py check` for what is stored rather than configured: active payment flows whose
VCC account is not listed in VCC_ACCOUNTS (every payment on them would be refused)."""

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError

from payments.models import PaymentFlow
from payments.vcc.accounts import configured_account_names, env_key


@register()
def check_flow_accounts(**kwargs: object) -> list[CheckMessage]:
    """payments.E001: an active flow on an account missing from VCC_ACCOUNTS."""
    listed = set(configured_account_names())
    try:
        flows = list(
            PaymentFlow.objects.filter(is_active=True)
            .exclude(account__in=listed)
            .values_list("name", "account")
        )
    except DatabaseError:  # no database yet (before migrate): nothing stored to check
        return []
    return [
        Error(
            f"Payment flow '{name}' is active but its VCC account '{account}' is not in "
            "VCC_ACCOUNTS: every payment on it would be refused.",
            hint=(
                f"Add '{account}' to VCC_ACCOUNTS with its {env_key(account, '*')} keys, or "
                "deactivate the flow in admin -> Payments -> Payment flows."
            ),
            obj=f"PaymentFlow '{name}'",
            id="payments.E001",
        )
        for name, account in flows
    ]
