"""POST /payments/webhook/vcc: VCC's result, with our bearer token; stored raw (card data
redacted) before anything else, answered at once, processed by a task."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks as CaptureCallbacks

from payments import views, webhooks
from payments.models import WebhookDelivery
from payments.redaction import REDACTED
from tests import builders
from tests.conftest import SentTasks

pytestmark = pytest.mark.django_db
URL = "/payments/webhook/vcc"


def post(
    client: Client, body: str | bytes, token: str | None = None
) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token or webhooks.issue_token()}"}
    response = client.post(URL, body, content_type="application/json", headers=headers)
    return response.status_code, response.json()


def test_the_url_is_the_one_handed_to_vonage() -> None:
    assert reverse("payments:webhook") == URL


def test_a_result_is_stored_first_answered_200_and_processed_by_a_task(
    client: Client, sent_tasks: SentTasks, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    body = json.dumps(builders.session_body("3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        status, answer = post(client, body)
    assert status == 200
    assert len(callbacks) == 1
    delivery = WebhookDelivery.objects.get()
    assert answer == {"received": True, "delivery": delivery.pk}
    assert delivery.body == body
    assert delivery.status == WebhookDelivery.Status.RECEIVED
    assert delivery.session_guid == "3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f"
    assert sent_tasks == [("payments.process_webhook", (delivery.pk,), 0)]


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer forged.token.value", "Basic dm9uYWdlOnNlY3JldA=="],
)
def test_no_valid_bearer_gets_401_and_nothing_is_stored(
    client: Client, sent_tasks: SentTasks, authorization: str
) -> None:
    response = client.post(
        URL,
        json.dumps(builders.session_body("abc")),
        content_type="application/json",
        headers={"Authorization": authorization} if authorization else {},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert "Bearer" in response["WWW-Authenticate"]
    assert not WebhookDelivery.objects.exists()
    assert sent_tasks == []


def test_an_expired_token_gets_401(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    token = webhooks.issue_token()
    monkeypatch.setattr(webhooks, "TOKEN_LIFETIME", timedelta(seconds=-1))
    assert post(client, "{}", token)[0] == 401


@pytest.mark.parametrize(
    "body, error",
    [
        ("{not json", "The body is not JSON."),
        ("[1, 2]", "The body is JSON but not an object."),
        ('{"sessionState": "Finished"}', "VCC's session answer has no sessionGuid."),
        ('{"sessionGuid": "a", "paymentResultData": "{oops"}', "not valid JSON"),
    ],
)
def test_a_malformed_body_gets_400_and_is_stored_as_invalid(
    client: Client, sent_tasks: SentTasks, body: str, error: str
) -> None:
    status, answer = post(client, body)
    assert status == 400
    delivery = WebhookDelivery.objects.get()
    assert answer == {"error": delivery.error, "delivery": delivery.pk}
    assert error in delivery.error
    assert delivery.body == body
    assert delivery.status == WebhookDelivery.Status.INVALID
    assert sent_tasks == []


def test_an_oversized_body_is_refused_and_recorded_without_its_body(
    client: Client, sent_tasks: SentTasks
) -> None:
    status, _ = post(client, '{"x": "' + "a" * views.MAX_BODY_BYTES + '"}')
    assert status == 400
    delivery = WebhookDelivery.objects.get()
    assert delivery.body == ""
    assert delivery.status == WebhookDelivery.Status.INVALID
    assert sent_tasks == []


def test_card_data_never_reaches_the_database(client: Client, sent_tasks: SentTasks) -> None:
    body = builders.session_body("3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f")
    body["paymentResultData"].update(
        {"cardNumber": "4111 1111 1111 1111", "cvv": "737", "expiryDate": "03/30"}
    )
    body["note"] = "caller read out 5555555555554444 twice"
    status, _ = post(client, json.dumps(body))
    assert status == 200
    stored = WebhookDelivery.objects.get().body
    for secret in ("4111", "5555555555554444", "737", "03/30"):
        assert secret not in stored
    assert stored.count(REDACTED) == 4
    assert json.loads(stored)["sessionGuid"] == "3f0c9d7e-5b1a-4c2e-9f8d-1a2b3c4d5e6f"


def test_card_data_is_redacted_from_a_malformed_body_too(client: Client) -> None:
    status, _ = post(client, '{"pan": "4111111111111111", "cvv": 123, broken')
    assert status == 400
    stored = WebhookDelivery.objects.get().body
    assert "4111111111111111" not in stored and "123" not in stored


def test_only_post(client: Client) -> None:
    assert client.get(URL).status_code == 405
