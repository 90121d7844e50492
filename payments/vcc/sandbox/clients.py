"""The API clients the sandbox accepts, each standing for one VCC account with its own
provisioned accountConfigurationIds.

By default only the built-in account's client exists. A setting `VCC_SANDBOX_CLIENTS` (a dict
client id -> {"secret", "account", "configuration_ids"}) replaces the table, so tests can play
two VCC accounts whose ids differ.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings

from payments.vcc.accounts import BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET

# accountConfigurationIds the sandbox accepts but whose provider refuses the call: the two
# provider errors VCC documents, reproducible on demand.
PROVIDER_INVALID_CLIENT_KEY_ID = 9001
PROVIDER_INVALID_CLIENT_ID = 9002
PROVIDER_ERRORS = {
    PROVIDER_INVALID_CLIENT_KEY_ID: "invalid_client_key",
    PROVIDER_INVALID_CLIENT_ID: "invalid_client",
}

DEFAULT_CLIENTS: dict[str, dict[str, object]] = {
    BUILTIN_CLIENT_ID: {
        "secret": BUILTIN_CLIENT_SECRET,
        "account": "builtin-sandbox",
        "configuration_ids": [1, 2, 4, 5],
    }
}


@dataclass(frozen=True)
class SandboxClient:
    client_id: str
    secret: str
    account: str
    configuration_ids: frozenset[int]


def sandbox_clients() -> dict[str, SandboxClient]:
    table: dict[str, dict[str, object]] = getattr(settings, "VCC_SANDBOX_CLIENTS", DEFAULT_CLIENTS)
    clients = {}
    for client_id, spec in table.items():
        ids = spec.get("configuration_ids", ())
        known = frozenset(int(str(i)) for i in ids) if isinstance(ids, list | tuple) else None
        clients[client_id] = SandboxClient(
            client_id=client_id,
            secret=str(spec["secret"]),
            account=str(spec.get("account", client_id)),
            configuration_ids=(known or frozenset()) | frozenset(PROVIDER_ERRORS),
        )
    return clients


def authenticate(client_id: str, secret: str) -> SandboxClient | None:
    client = sandbox_clients().get(client_id)
    if client is None or not secrets.compare_digest(client.secret.encode(), secret.encode()):
        return None
    return client
