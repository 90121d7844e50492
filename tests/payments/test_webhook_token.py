"""POST /payments/webhook/token: the OAuth2 client-credentials endpoint VCC gets its bearer
token from before calling our webhook."""

import base64
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

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
