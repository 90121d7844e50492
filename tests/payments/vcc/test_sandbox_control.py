"""The sandbox's control API (`/sandbox/control/...`): reset, run-time knobs and their
defaults, fault knobs (validation, paths, counts), session outcomes and their refusals, the
counters of `stats`."""

from typing import Any

import pytest
import requests
from pytest_django import Settings

from payments.vcc.client import client_for
from tests.sandbox_fixtures import Sandbox, SandboxControlError


def new_session(**payment_data: str) -> str:
    data = payment_data or {"Amount": "12.40", "Currency": "GBP"}
    return client_for("builtin").create_session(agent_id="1001", payment_data=data).session_guid


def test_knobs_default_to_the_settings(sandbox: Sandbox) -> None:
    assert sandbox.knobs() == {
        "token_lifetime_seconds": 3600,
        "retention_seconds": 900.0,  # VCC keeps results 15 minutes
        "page_lifetime_seconds": 600.0,
        "webhook_retry_seconds": 30.0,
        "webhook_give_up_seconds": 43200.0,  # 12 hours, like VCC
        "token_type": "Bearer",
        "webhooks": True,
        "extra_keys": False,
    }


def test_knob_defaults_come_from_settings(sandbox: Sandbox, settings: Settings) -> None:
    settings.VCC_SANDBOX_RETENTION_SECONDS = 60
    settings.VCC_SANDBOX_WEBHOOKS = False
    sandbox.reset()
    knobs = sandbox.knobs()
    assert (knobs["retention_seconds"], knobs["webhooks"]) == (60, False)


@pytest.mark.parametrize(
    "body",
    [{"colour": "blue"}, {"retention_seconds": -1}, {"webhooks": "yes"}, {"token_type": ""}],
)
def test_bad_knobs_are_refused(sandbox: Sandbox, body: dict[str, Any]) -> None:
    with pytest.raises(SandboxControlError) as raised:
        sandbox.knobs(**body)
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"path": "get"}, "at least one"),
        ({"path": "everywhere", "status_code": 500}, "path must be"),
        ({"status_code": 200}, "status_code"),
        ({"error_rate": 2}, "probability"),
        ({"count": 0, "malformed": True}, "count"),
        ({"slow": True}, "Unknown fault knob"),
    ],
)
def test_bad_faults_are_refused(sandbox: Sandbox, body: dict[str, Any], complaint: str) -> None:
    with pytest.raises(SandboxControlError, match=complaint):
        sandbox.faults(**body)


def test_counted_faults_are_used_up_and_can_be_cleared(sandbox: Sandbox) -> None:
    fault = sandbox.faults(path="token", status_code=500, count=2)
    assert fault["remaining"] == 2
    token_url = sandbox.url + "/vcc/Auth/connect/token"
    statuses = [requests.post(token_url, timeout=5).status_code for _ in range(3)]
    assert statuses == [500, 500, 400]  # then the real answer: no credentials
    listed = requests.get(sandbox.url + "/control/faults", timeout=5).json()["faults"]
    assert [f["remaining"] for f in listed] == [0]
    sandbox.faults(path="any", latency_ms=10)
    sandbox.clear_faults()
    assert requests.get(sandbox.url + "/control/faults", timeout=5).json() == {"faults": []}


def test_faults_apply_only_to_their_path(sandbox: Sandbox) -> None:
    sandbox.faults(path="create", status_code=503)
    guid_url = sandbox.url + "/vcc/api/v1/session/00000000-0000-4000-8000-000000000000"
    assert requests.get(guid_url, timeout=5).status_code == 401
    assert requests.post(sandbox.url + "/vcc/api/v1/session", timeout=5).status_code == 503
    digital = requests.post(sandbox.url + "/vcc/api/v1/digitalsession", timeout=5)
    assert digital.status_code == 503


def test_rate_limit_sends_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults(rate_limit=7)
    response = requests.post(sandbox.url + "/vcc/Auth/connect/token", timeout=5)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")


def test_outcome_refusals(sandbox: Sandbox) -> None:
    guid = new_session()
    with pytest.raises(SandboxControlError, match="Unknown outcome") as raised:
        sandbox.complete(guid, "maybe")
    assert raised.value.status == 400
    sandbox.complete(guid, "approved")
    with pytest.raises(SandboxControlError) as raised:
        sandbox.complete(guid, "declined")
    assert raised.value.status == 409
    with pytest.raises(SandboxControlError) as raised:
        sandbox.complete("00000000-0000-4000-8000-000000000000", "approved")
    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("outcome", "decision", "reason_code"),
    [
        ("approved", "ACCEPT", "100"),
        ("declined", "REJECT", "203"),
        ("error", "ERROR", "150"),
        ("review", "REVIEW", "480"),
        ("cancel", "CANCEL", "0"),
    ],
)
def test_outcomes_give_the_gateways_decision(
    sandbox: Sandbox, outcome: str, decision: str, reason_code: str
) -> None:
    result = sandbox.complete(new_session(), outcome)["result"]
    assert (result["decision"], result["reasonCode"]) == (decision, reason_code)


def test_amount_override_for_mismatch_tests(sandbox: Sandbox) -> None:
    result = sandbox.complete(new_session(), "approved", amount_minor=999)["result"]
    assert result["Amount"] == "999"


def test_progress_and_page_expiry(sandbox: Sandbox) -> None:
    guid = new_session()
    assert sandbox.start_progress(guid)["state"] == "InProgress"
    assert sandbox.expire_page(guid)["page_expired"] is True
    with pytest.raises(SandboxControlError, match="ended or its page has expired"):
        sandbox.press(guid, "4")


def test_stats_count_calls_and_reset_forgets_everything(sandbox: Sandbox) -> None:
    guid = new_session()
    client_for("builtin").get_session(guid)
    sandbox.faults(path="get", status_code=500, count=1)
    client_for("builtin").get_session(guid)  # a 500, then a retry
    stats = sandbox.stats()
    assert (stats["token_requests"], stats["session_gets"]) == (1, 3)
    assert (stats["create_requests"], stats["sessions_created"]) == (1, 1)
    assert stats["faults_injected"] == 1
    sandbox.knobs(token_type="bearer")
    sandbox.reset()
    assert sandbox.stats() == {
        "token_requests": 0,
        "create_requests": 0,
        "digital_requests": 0,
        "session_gets": 0,
        "sessions_created": 0,
        "digital_sessions_created": 0,
        "faults_injected": 0,
        "webhook_attempts": 0,
        "webhooks_delivered": 0,
    }
    assert sandbox.sessions() == []
    assert sandbox.knobs()["token_type"] == "Bearer"
