"""The sandbox's VCC side over real HTTP, as a raw HTTP client sees it:
`/sandbox/vcc/Auth/connect/token`, `POST /sandbox/vcc/api/v1/session`,
`POST /sandbox/vcc/api/v1/digitalsession`, `GET /sandbox/vcc/api/v1/session/<guid>`
(docs/vcc-payment-api.md sections 2 and 3)."""

import uuid
from typing import Any

import pytest
import requests

from payments.vcc.accounts import BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET
from tests.sandbox_fixtures import Sandbox

PAYMENT_DATA = {
    "FirstName": "Priya",
    "Surname": "Patel",
    "Amount": "12.40",
    "Currency": "GBP",
    "MerchantReferenceCode": "PAY-TEST0001",
}


def token_url(sandbox: Sandbox) -> str:
    return sandbox.url + "/vcc/Auth/connect/token"


def api_url(sandbox: Sandbox, path: str) -> str:
    return sandbox.url + "/vcc/api" + path


def get_token(sandbox: Sandbox, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "scope": "globalpci",
        "client_id": BUILTIN_CLIENT_ID,
        "client_secret": BUILTIN_CLIENT_SECRET,
        **form,
    }
    return requests.post(token_url(sandbox), data=data, timeout=5)


def bearer(sandbox: Sandbox, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {get_token(sandbox).json()['access_token']}"}


def open_session(sandbox: Sandbox, **body: Any) -> requests.Response:
    payload = {"agentId": "1001", "paymentData": PAYMENT_DATA, **body}
    return requests.post(
        api_url(sandbox, "/v1/session"), json=payload, headers=bearer(sandbox), timeout=5
    )


# --- Token endpoint -----------------------------------------------------------------------


def test_token_with_credentials_in_the_body(sandbox: Sandbox) -> None:
    response = get_token(sandbox)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) > 20


def test_token_with_http_basic(sandbox: Sandbox) -> None:
    response = requests.post(
        token_url(sandbox),
        data={"grant_type": "client_credentials", "scope": "globalpci"},
        auth=(BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET),
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_bad_secret_in_the_body_is_400_invalid_client(sandbox: Sandbox) -> None:
    response = get_token(sandbox, client_secret="wrong")
    assert (response.status_code, response.json()) == (400, {"error": "invalid_client"})


def test_bad_basic_credentials_are_401_invalid_client(sandbox: Sandbox) -> None:
    response = requests.post(
        token_url(sandbox),
        data={"grant_type": "client_credentials", "scope": "globalpci"},
        auth=("nobody", "nothing"),
        timeout=5,
    )
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"scope": "openid"}, "invalid_scope"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_token_needs_client_credentials_and_the_globalpci_scope(
    sandbox: Sandbox, form: dict[str, str], error: str
) -> None:
    response = get_token(sandbox, **form)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_token_lifetime_and_type_are_knobs(sandbox: Sandbox) -> None:
    sandbox.knobs(token_lifetime_seconds=7200, token_type="bearer")
    body = get_token(sandbox).json()
    assert (body["expires_in"], body["token_type"]) == (7200, "bearer")


# --- Bearer -------------------------------------------------------------------------------


def test_payment_api_needs_a_bearer_token(sandbox: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = requests.post(
            api_url(sandbox, "/v1/session"), json={}, headers=headers, timeout=5
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_scheme_is_case_insensitive(sandbox: Sandbox) -> None:
    response = requests.post(
        api_url(sandbox, "/v1/session"),
        json={"agentId": "1001", "paymentData": PAYMENT_DATA},
        headers=bearer(sandbox, scheme="bearer"),
        timeout=5,
    )
    assert response.status_code == 200


def test_expired_token_is_refused(sandbox: Sandbox) -> None:
    headers = bearer(sandbox)
    sandbox.revoke_tokens()
    response = requests.get(
        api_url(sandbox, f"/v1/session/{uuid.uuid4()}"), headers=headers, timeout=5
    )
    assert response.status_code == 401


# --- POST /v1/session ---------------------------------------------------------------------


def test_create_session_answers_per_the_contract(sandbox: Sandbox) -> None:
    response = open_session(sandbox, accountConfigurationId=1, skipCallTransfer=True)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"sessionGuid", "iframeUrl", "agentAccessToken", "agentRefreshToken"}
    assert uuid.UUID(body["sessionGuid"])
    assert body["iframeUrl"].startswith(sandbox.url + "/provider/view/")
    assert body["iframeUrl"].endswith("/framed")
    seen = sandbox.session(body["sessionGuid"])
    assert seen["account_configuration_id"] == 1
    assert seen["skip_call_transfer"] is True
    assert seen["state"] == "Created"
    assert sandbox.sessions_created() == 1


def test_account_default_flow_when_no_configuration_id(sandbox: Sandbox) -> None:
    body = open_session(sandbox).json()
    assert sandbox.session(body["sessionGuid"])["account_configuration_id"] is None


def test_unknown_configuration_id_gives_vccs_message(sandbox: Sandbox) -> None:
    response = open_session(sandbox, accountConfigurationId=3)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Account configuration does not exists for account: builtin-sandbox, "
        "configuration Id: 3."
    }
    assert sandbox.sessions_created() == 0


@pytest.mark.parametrize(
    ("configuration_id", "error"), [(9001, "invalid_client_key"), (9002, "invalid_client")]
)
def test_provider_errors_on_magic_configuration_ids(
    sandbox: Sandbox, configuration_id: int, error: str
) -> None:
    response = open_session(sandbox, accountConfigurationId=configuration_id)
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("Provider's authorization endpoint returned error message")
    assert f"'{error}'" in message


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"agentId": ""}, "agentId"),
        ({"paymentData": "Amount=12.40"}, "paymentData"),
        ({"accountConfigurationId": "1"}, "accountConfigurationId"),
        ({"skipCallTransfer": "yes"}, "skipCallTransfer"),
    ],
)
def test_invalid_bodies_are_400_with_a_message(
    sandbox: Sandbox, body: dict[str, Any], complaint: str
) -> None:
    response = open_session(sandbox, **body)
    assert response.status_code == 400
    assert complaint in response.json()["message"]


# --- POST /v1/digitalsession --------------------------------------------------------------


def test_digital_session_needs_an_e164_phone_number(sandbox: Sandbox) -> None:
    url = api_url(sandbox, "/v1/digitalsession")
    headers = bearer(sandbox)
    refused = requests.post(
        url,
        json={"agentId": "1001", "paymentData": {**PAYMENT_DATA, "CustomerPhoneNumber": "0113"}},
        headers=headers,
        timeout=5,
    )
    assert refused.status_code == 400
    response = requests.post(
        url,
        json={
            "agentId": "1001",
            "paymentData": {**PAYMENT_DATA, "CustomerPhoneNumber": "+441632960961"},
        },
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["paymentLink"] == f"{sandbox.url}/pay/{body['sessionGuid']}/"
    assert sandbox.stats()["digital_sessions_created"] == 1


# --- GET /v1/session/{guid} ---------------------------------------------------------------


def test_get_session_before_and_after_the_result(sandbox: Sandbox) -> None:
    guid = open_session(sandbox, accountConfigurationId=1).json()["sessionGuid"]
    headers = bearer(sandbox)
    url = api_url(sandbox, f"/v1/session/{guid}")
    before = requests.get(url, headers=headers, timeout=5).json()
    assert before["sessionState"] == "Created"
    assert before["paymentResultData"] is None
    assert set(before) >= {
        "sessionGuid",
        "callGuid",
        "providerSessionGuid",
        "createdOn",
        "lastUpdatedOn",
    }
    assert before["createdOn"].endswith("Z")

    sandbox.complete(guid, "approved")
    after = requests.get(url, headers=headers, timeout=5).json()
    result = after["paymentResultData"]
    assert after["sessionState"] == "Finished"
    assert (result["decision"], result["reasonCode"]) == ("ACCEPT", "100")
    assert result["Amount"] == "1240"
    assert result["Currency"] == "GBP"
    assert result["transactionType"] == "sale"
    assert result["requestID"].isdigit()
    assert result["MerchantReferenceCode"] == "PAY-TEST0001"  # paymentData echoed


def test_hang_up_finishes_without_a_result(sandbox: Sandbox) -> None:
    guid = open_session(sandbox).json()["sessionGuid"]
    sandbox.hang_up(guid)
    body = requests.get(
        api_url(sandbox, f"/v1/session/{guid}"), headers=bearer(sandbox), timeout=5
    ).json()
    assert (body["sessionState"], body["paymentResultData"]) == ("Finished", None)


def test_unknown_and_purged_sessions_are_404(sandbox: Sandbox) -> None:
    headers = bearer(sandbox)
    unknown = requests.get(
        api_url(sandbox, f"/v1/session/{uuid.uuid4()}"), headers=headers, timeout=5
    )
    assert unknown.status_code == 404
    guid = open_session(sandbox).json()["sessionGuid"]
    sandbox.complete(guid, "declined")
    sandbox.purge(guid)
    purged = requests.get(api_url(sandbox, f"/v1/session/{guid}"), headers=headers, timeout=5)
    assert purged.status_code == 404


def test_results_are_purged_after_the_retention_time(sandbox: Sandbox) -> None:
    guid = open_session(sandbox).json()["sessionGuid"]
    sandbox.complete(guid, "approved")
    headers = bearer(sandbox)
    url = api_url(sandbox, f"/v1/session/{guid}")
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    sandbox.knobs(retention_seconds=0)
    assert requests.get(url, headers=headers, timeout=5).status_code == 404
    assert sandbox.session(guid)["purged"] is True


def test_another_accounts_session_is_not_found(sandbox: Sandbox, settings: Any) -> None:
    settings.VCC_SANDBOX_CLIENTS = {
        BUILTIN_CLIENT_ID: {"secret": BUILTIN_CLIENT_SECRET, "configuration_ids": [1]},
        "other-client": {"secret": "other-secret", "configuration_ids": [1]},
    }
    guid = open_session(sandbox).json()["sessionGuid"]
    other = get_token(sandbox, client_id="other-client", client_secret="other-secret").json()
    response = requests.get(
        api_url(sandbox, f"/v1/session/{guid}"),
        headers={"Authorization": f"Bearer {other['access_token']}"},
        timeout=5,
    )
    assert response.status_code == 404


def test_extra_keys_knob_adds_keys_the_contract_does_not_know(sandbox: Sandbox) -> None:
    sandbox.knobs(extra_keys=True)
    assert "sandboxNote" in get_token(sandbox).json()
    assert "sandboxNote" in open_session(sandbox).json()
