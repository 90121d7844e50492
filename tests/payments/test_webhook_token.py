"""POST /payments/webhook/token: the OAuth2 client-credentials endpoint VCC gets its bearer
token from before calling our webhook."""

import base64
import hashlib
import json
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from agentdesk.staff.models import AuditEntry
from payments import webhooks

CLIENT_ID = "vonage-webhook"
CLIENT_SECRET = "s3cret: with spaces & symbols"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def credentials(settings: Settings) -> None:
    settings.WEBHOOK_CLIENT_ID = CLIENT_ID
    settings.WEBHOOK_CLIENT_SECRET = CLIENT_SECRET


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def ask(client: Client, **form: str) -> dict[str, object]:
    response = client.post(reverse("payments:webhook-token"), form)
    return {"status": response.status_code, **response.json()}


def test_credentials_in_the_body_get_a_short_lived_bearer_token(client: Client) -> None:
    answer = ask(
        client, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    assert answer["status"] == 200
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 900
    assert webhooks.token_valid(str(answer["access_token"]))


def test_credentials_in_http_basic_get_a_token(client: Client) -> None:
    response = client.post(
        reverse("payments:webhook-token"),
        {"grant_type": "client_credentials"},
        headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert webhooks.token_valid(response.json()["access_token"])


@pytest.mark.parametrize(
    "client_id, secret",
    [(CLIENT_ID, "wrong"), ("someone-else", CLIENT_SECRET), ("", ""), (CLIENT_ID, "")],
)
def test_wrong_credentials_are_refused(client: Client, client_id: str, secret: str) -> None:
    answer = ask(client, grant_type="client_credentials", client_id=client_id, client_secret=secret)
    assert answer == {"status": 401, "error": "invalid_client"}


def test_no_configured_credentials_refuse_everyone(client: Client, settings: Settings) -> None:
    settings.WEBHOOK_CLIENT_ID = ""
    settings.WEBHOOK_CLIENT_SECRET = ""
    answer = ask(client, grant_type="client_credentials", client_id="", client_secret="")
    assert answer == {"status": 401, "error": "invalid_client"}


def test_another_grant_type_is_refused(client: Client) -> None:
    answer = ask(client, grant_type="password", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert answer == {"status": 400, "error": "unsupported_grant_type"}


def test_only_post(client: Client) -> None:
    assert client.get(reverse("payments:webhook-token")).status_code == 405


def test_tokens_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    token = webhooks.issue_token()
    monkeypatch.setattr(webhooks, "TOKEN_LIFETIME", timedelta(seconds=-1))
    assert not webhooks.token_valid(token)


def test_new_credentials_retire_old_tokens(settings: Settings) -> None:
    token = webhooks.issue_token()
    settings.WEBHOOK_CLIENT_SECRET = "rotated"
    assert not webhooks.token_valid(token)


def test_a_forged_or_tampered_token_is_refused() -> None:
    token = webhooks.issue_token()
    assert not webhooks.token_valid(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert not webhooks.token_valid("not-a-token")
    assert not webhooks.token_valid("")


def refused_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.WEBHOOK_TOKEN_REFUSED))


def test_a_refused_request_goes_to_the_audit_trail_without_the_secret(client: Client) -> None:
    answer = ask(
        client, grant_type="client_credentials", client_id=CLIENT_ID, client_secret="guess-1"
    )
    assert answer["status"] == 401
    (entry,) = refused_entries()
    assert entry.actor_name == CLIENT_ID
    assert entry.ip_address == "127.0.0.1"
    assert entry.details == {"reason": "invalid_client"}
    assert "guess-1" not in str(entry.details) + entry.target + entry.actor_name


def test_an_address_that_keeps_failing_is_throttled(client: Client) -> None:
    for attempt in range(webhooks.TOKEN_FAILURE_LIMIT):
        answer = ask(
            client,
            grant_type="client_credentials",
            client_id=CLIENT_ID,
            client_secret=f"guess-{attempt}",
        )
        assert answer["status"] == 401
    locked = client.post(
        reverse("payments:webhook-token"),
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert locked.status_code == 429
    assert locked.json() == {"error": "slow_down"}
    assert int(locked.headers["Retry-After"]) > 0
    assert len(refused_entries()) == webhooks.TOKEN_FAILURE_LIMIT
    # Another address (VCC's) is not locked out by this one's guesses.
    other = Client(REMOTE_ADDR="203.0.113.9")
    assert (
        ask(
            other, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )["status"]
        == 200
    )


def test_tokens_carry_nothing_derived_from_the_secret(client: Client) -> None:
    answer = ask(
        client, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    token = str(answer["access_token"])
    payload = signing.b64_decode(token.split(".")[0].encode())
    claims = json.loads(payload)
    assert set(claims) == {"k"}
    old_fingerprint = hashlib.sha256(f"{CLIENT_ID}\0{CLIENT_SECRET}".encode()).hexdigest()
    assert old_fingerprint[:32] not in payload.decode() and CLIENT_SECRET not in payload.decode()
    assert webhooks.token_valid(token)


def test_tokens_issued_under_new_credentials_work_at_once(
    settings: Settings,
) -> None:
    token = webhooks.issue_token()
    settings.WEBHOOK_CLIENT_SECRET = "rotated"
    assert not webhooks.token_valid(token)
    assert webhooks.token_valid(webhooks.issue_token())
