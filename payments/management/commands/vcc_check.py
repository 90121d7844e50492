"""`manage.py vcc_check [ACCOUNT...]`: prove each VCC account's API credentials work now.

Forgets the shared cached token first, so a changed or wrong secret is found at once rather
than when the cached token expires.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.vcc.accounts import AccountConfigError, configured_account_names
from payments.vcc.client import client_for
from payments.vcc.errors import VccError


class Command(BaseCommand):
    help = "Fetch a fresh VCC access token for each account (all by default): OK or the error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("accounts", nargs="*", metavar="ACCOUNT")

    def handle(self, *args: Any, **options: Any) -> None:
        names: list[str] = options["accounts"] or configured_account_names()
        failed = []
        for name in names:
            try:
                client = client_for(name)
                client.forget_token()
                client.token()
            except (AccountConfigError, VccError) as error:
                failed.append(name)
                self.stdout.write(f"{name}: {type(error).__name__}: {error}")
            else:
                self.stdout.write(f"{name}: OK")
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(names)} accounts failed: {', '.join(failed)}"
            )
