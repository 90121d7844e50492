"""payments/vcc/client.py against the sandbox over real HTTP (a live server; nothing mocked):
the shared token (across clients, threads and processes; refreshed before it expires; one
refresh and retry on a 401), retries and their limits (GET only: 5xx, 429 with Retry-After,
timeouts, connection errors; POST never once it may have arrived), the circuit breaker, every
documented error as a typed error with an actionable message, minor units for 0-, 2- and
3-decimal currencies, tolerant parsing, and log lines without secrets."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pytest_django import Settings

from payments.vcc.accounts import VccAccount, get_account
from payments.vcc.client import VccClient, vcc_breaker
from payments.vcc.errors import (
    VccBadResponse,
    VccCredentialsError,
    VccError,
    VccOutcomeUncertain,
    VccProviderCredentialsError,
    VccRateLimited,
    VccSessionNotFound,
    VccUnavailable,
    VccUnknownConfigurationError,
)
from payments.vcc.sandbox.clients import PROVIDER_INVALID_CLIENT_ID, PROVIDER_INVALID_CLIENT_KEY_ID
from tests.payments.vcc.conftest import FAST, PAYMENT_DATA, MakeClient, open_session
from tests.sandbox_fixtures import Sandbox

# --- Retries and their limits -------------------------------------------------------------


def test_get_is_retried_on_5xx_until_it_succeeds(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", status_code=503, count=1)
    sandbox.faults(path="get", error_rate=1.0, status_code=500, count=1)
    assert vcc.get_session(guid).session_guid == guid
    stats = sandbox.stats()
    assert (stats["session_gets"], stats["faults_injected"]) == (3, 2)


def test_get_gives_up_after_the_policys_attempts(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", status_code=502)
    with pytest.raises(VccUnavailable, match="HTTP 502"):
        vcc.get_session(guid)
    assert sandbox.stats()["session_gets"] == FAST.attempts


def test_429_retry_after_is_honoured(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", rate_limit=0.5, count=1)
    started = time.monotonic()
    assert vcc.get_session(guid).session_guid == guid
    assert time.monotonic() - started >= 0.5
    assert sandbox.stats()["session_gets"] == 2


def test_a_retry_after_longer_than_we_wait_goes_to_the_caller(
    sandbox: Sandbox, vcc: VccClient
) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", rate_limit=30)
    with pytest.raises(VccRateLimited) as raised:
        vcc.get_session(guid)
    assert raised.value.retry_after == 30
    assert isinstance(raised.value, VccUnavailable)  # "try again later"
    assert sandbox.stats()["session_gets"] == 1


def test_post_is_not_retried_on_5xx(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.faults(path="create", status_code=503)
    with pytest.raises(VccUnavailable):
        open_session(vcc)
    assert sandbox.stats()["create_requests"] == 1


def test_post_answered_too_late_is_uncertain_and_not_retried(
    sandbox: Sandbox, settings: Settings, make_client: MakeClient
) -> None:
    settings.VCC_READ_TIMEOUT = 0.5
    client = make_client()
    client.token()
    sandbox.faults(path="create", timeout=1.5, count=1)
    with pytest.raises(VccOutcomeUncertain, match="may or may not have been created"):
        open_session(client)
    stats = sandbox.stats()
    assert (stats["create_requests"], stats["sessions_created"]) == (1, 1)


def test_get_answered_too_late_is_retried(
    sandbox: Sandbox, settings: Settings, make_client: MakeClient
) -> None:
    settings.VCC_READ_TIMEOUT = 0.5
    client = make_client()
    guid = open_session(client)
    sandbox.faults(path="get", timeout=1.5, count=1)
    assert client.get_session(guid).session_guid == guid
    assert sandbox.stats()["session_gets"] == 2


def test_latency_below_the_timeout_is_just_slow(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", latency_ms=300, count=1)
    started = time.monotonic()
    vcc.get_session(guid)
    assert time.monotonic() - started >= 0.3
    assert sandbox.stats()["session_gets"] == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def account_with_api(api_url: str) -> VccAccount:
    builtin = get_account("builtin")
    return VccAccount(
        "builtin", builtin.auth_url, api_url, builtin.client_id, builtin.client_secret
    )


def test_unreachable_vcc_is_unavailable(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(account_with_api(f"http://127.0.0.1:{free_port()}/api"))
    with pytest.raises(VccUnavailable, match="cannot be reached"):
        client.get_session("00000000-0000-4000-8000-000000000000")
    # Nothing was sent: the connection never opened, so a new attempt is safe.
    with pytest.raises(VccUnavailable, match="cannot be reached") as raised:
        open_session(client)
    assert not isinstance(raised.value, VccOutcomeUncertain)


@pytest.fixture
def dropping_server() -> Iterator[tuple[str, list[int]]]:
    """A server that reads each request and closes the connection without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.recv(65536)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api", accepted
    listener.close()


def test_a_dropped_post_is_uncertain_a_dropped_get_is_retried(
    sandbox: Sandbox, make_client: MakeClient, dropping_server: tuple[str, list[int]]
) -> None:
    url, accepted = dropping_server
    client = make_client(account_with_api(url))
    with pytest.raises(VccOutcomeUncertain, match="dropped the connection"):
        open_session(client)
    assert len(accepted) == 1
    with pytest.raises(VccUnavailable):
        client.get_session("00000000-0000-4000-8000-000000000000")
    assert len(accepted) == 1 + FAST.attempts


def test_malformed_answers(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", malformed=True, count=1)
    with pytest.raises(VccBadResponse, match="not JSON"):
        vcc.get_session(guid)
    sandbox.faults(path="create", malformed=True, count=1)
    with pytest.raises(VccOutcomeUncertain, match="could not be read"):
        open_session(vcc)
    assert sandbox.sessions_created() == 2  # the second one exists: hence "uncertain"


def test_circuit_breaker_fails_fast_while_vcc_is_down(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(breaker=vcc_breaker(threshold=3, open_seconds=30))
    guid = open_session(client)
    sandbox.faults(path="get", status_code=500)
    with pytest.raises(VccUnavailable):
        client.get_session(guid)
    calls = sandbox.stats()["session_gets"]
    with pytest.raises(VccUnavailable, match="paused"):
        client.get_session(guid)
    assert sandbox.stats()["session_gets"] == calls


# --- Documented errors --------------------------------------------------------------------


def test_wrong_client_credentials(sandbox: Sandbox, make_client: MakeClient) -> None:
    builtin = get_account("builtin")
    account = VccAccount("main", builtin.auth_url, builtin.api_url, "someone", "wrong-secret")
    with pytest.raises(VccCredentialsError) as raised:
        make_client(account).token()
    message = str(raised.value)
    assert "invalid_client" in message
    assert "VCC_MAIN_CLIENT_ID" in message
    assert "VCC_MAIN_CLIENT_SECRET" in message
    assert "wrong-secret" not in message


def test_unknown_account_configuration_id(sandbox: Sandbox, vcc: VccClient) -> None:
    with pytest.raises(VccUnknownConfigurationError, match="accountConfigurationId") as raised:
        vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA, account_configuration_id=3)
    assert not isinstance(raised.value, VccUnavailable)  # not "try again later"


@pytest.mark.parametrize(
    ("configuration_id", "words"),
    [
        (PROVIDER_INVALID_CLIENT_KEY_ID, "invalid_client_key"),
        (PROVIDER_INVALID_CLIENT_ID, "(invalid_client): Vonage must grant"),
    ],
)
def test_provider_refusals(
    sandbox: Sandbox, vcc: VccClient, configuration_id: int, words: str
) -> None:
    with pytest.raises(VccProviderCredentialsError) as raised:
        vcc.create_session(
            agent_id="1001", payment_data=PAYMENT_DATA, account_configuration_id=configuration_id
        )
    assert words in str(raised.value)


def test_purged_session(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.complete(guid, "approved")
    sandbox.purge(guid)
    with pytest.raises(VccSessionNotFound, match="15 minutes"):
        vcc.get_session(guid)


def test_errors_and_logs_never_show_secrets_or_tokens(
    sandbox: Sandbox, vcc: VccClient, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="payments.vcc")
    new = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA)
    vcc.get_session(new.session_guid)
    builtin = get_account("builtin")
    wrong = VccAccount("main", builtin.auth_url, builtin.api_url, "someone", "wrong-secret")
    messages = []
    for attempt in (
        lambda: make_client(wrong).token(),
        lambda: vcc.create_session(
            agent_id="1", payment_data=PAYMENT_DATA, account_configuration_id=3
        ),
    ):
        with pytest.raises(VccError) as raised:
            attempt()
        messages.append(str(raised.value))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("vcc_call")]
    assert len(lines) >= 4
    for line in lines:
        assert {"account=", "method=", "path=", "status=", "duration_ms="} <= {
            part.split("=")[0] + "=" for part in line.split()[1:]
        }
    everything = caplog.text + "\n".join(messages) + "\n".join(lines)
    for secret in (
        builtin.client_secret,
        "wrong-secret",
        vcc.token(),
        new.agent_access_token,
        new.agent_refresh_token,
        "Priya",
    ):
        assert secret not in everything


# --- Amounts and tolerant parsing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "major", "minor"),
    [("JPY", "500", "500"), ("GBP", "12.40", "1240"), ("KWD", "1.234", "1234")],
)
def test_result_amount_in_minor_units_follows_the_currency(
    sandbox: Sandbox, vcc: VccClient, currency: str, major: str, minor: str
) -> None:
    guid = open_session(vcc, Amount=major, Currency=currency)
    finished = sandbox.complete(guid, "approved")
    assert finished["result"]["Amount"] == minor
    result = vcc.get_session(guid).result
    assert result is not None
    assert (result.amount, result.currency) == (Decimal(major), currency)


def test_currency_given_by_the_caller_when_the_result_has_none(
    sandbox: Sandbox, vcc: VccClient
) -> None:
    guid = open_session(vcc, MerchantReferenceCode="PAY-1")
    sandbox.complete(guid, "approved", amount_minor=1500)
    result = vcc.get_session(guid, currency="JPY").result
    assert result is not None
    assert result.amount == Decimal("1500")


def test_states_other_than_finished_mean_not_finished(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    for reported in ("InProgress", "PendingGateway", "Completed"):
        sandbox.start_progress(guid, state=reported)
        status = vcc.get_session(guid)
        assert (status.session_state, status.finished) == (reported, False)
    sandbox.complete(guid, "declined")
    status = vcc.get_session(guid)
    assert status.finished
    assert status.result is not None
    assert status.result.decision == "REJECT"


def test_unknown_keys_are_ignored(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.knobs(extra_keys=True)
    new = vcc.create_session(agent_id="1001", payment_data=PAYMENT_DATA)
    sandbox.complete(new.session_guid, "approved")
    result = vcc.get_session(new.session_guid).result
    assert result is not None
    assert (result.decision, result.amount, result.card_brand) == ("ACCEPT", Decimal("12.40"), "")


def test_hang_up_is_finished_without_a_result(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.hang_up(guid)
    status = vcc.get_session(guid)
    assert (status.finished, status.result) == (True, None)


def test_digital_session(sandbox: Sandbox, vcc: VccClient) -> None:
    new = vcc.create_digital_session(
        agent_id="1001",
        payment_data={**PAYMENT_DATA, "CustomerPhoneNumber": "+441632960961"},
        account_configuration_id=2,
    )
    assert new.payment_link.startswith(sandbox.url)
    assert sandbox.session(new.session_guid)["kind"] == "digital"
