"""The VCC client's tests share: a client on the built-in account with fast retries and a
breaker that stays closed unless the test brings its own."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from payments.vcc.accounts import VccAccount, get_account
from payments.vcc.client import VccClient, vcc_breaker
from payments.vcc.http import RetryPolicy
from tests.sandbox_fixtures import Sandbox

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, max_retry_after=1.0)
PAYMENT_DATA = {"FirstName": "Priya", "Amount": "12.40", "Currency": "GBP"}

MakeClient = Callable[..., VccClient]


@pytest.fixture
def make_client(sandbox: Sandbox) -> Iterator[MakeClient]:
    """VccClients on the built-in account (or `account`), with fast retries and a breaker
    that stays closed unless the test brings its own."""
    made: list[VccClient] = []

    def make(account: VccAccount | None = None, **options: Any) -> VccClient:
        options.setdefault("retry", FAST)
        options.setdefault("breaker", vcc_breaker(threshold=1000))
        client = VccClient(account or get_account("builtin"), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def vcc(make_client: MakeClient) -> VccClient:
    return make_client()


def open_session(client: VccClient, **payment_data: str) -> str:
    new = client.create_session(agent_id="1001", payment_data=payment_data or PAYMENT_DATA)
    return new.session_guid
