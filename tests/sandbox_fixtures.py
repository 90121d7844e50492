"""The `sandbox` fixture: the built-in VCC sandbox served over real HTTP by pytest-django's live
server, reset before each test, driven through its control API.

    def test_approved_payment_lands(sandbox, ...):
        ...start a payment (the app's client talks to the sandbox over HTTP)...
        sandbox.complete(payment.session_guid, "approved")
        assert sandbox.stats()["session_gets"] == 1

`settings.SITE_URL` points at the live server for the test, so the built-in account
(`builtin`), the provider page URLs and the sandbox's webhook target all use it. Live-server
tests are transactional: data is committed, and the test database is emptied afterwards.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connections
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from payments.vcc.accounts import BUILTIN, BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET
from payments.vcc.client import VccClient, client_for
from payments.vcc.sandbox.webhooks import dispatcher

TIMEOUT = 10


class Sandbox:
    """Real HTTP calls to the sandbox's control API (payments/vcc/sandbox/README.md)."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/sandbox"
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(
            method, f"{self.url}/control/{path}", json=body, timeout=TIMEOUT
        )
        if response.status_code >= 400:
            raise SandboxControlError(response.status_code, response.text)
        return response.json()

    # --- sessions ---
    def complete(self, guid: str, outcome: str = "approved", **extra: Any) -> dict[str, Any]:
        """Finish the session: approved, declined, error, review, cancel or hangup
        (`amount_minor=...` overrides the result's amount)."""
        return self._call("POST", f"sessions/{guid}/outcome", {"outcome": outcome, **extra})

    def hang_up(self, guid: str) -> dict[str, Any]:
        return self.complete(guid, "hangup")

    def start_progress(self, guid: str, state: str = "") -> dict[str, Any]:
        """InProgress, or `state` as the sessionState GET answers."""
        return self._call("POST", f"sessions/{guid}/progress", {"state": state})

    def press(self, guid: str, keys: str) -> dict[str, Any]:
        """Press keys on the caller's phone, e.g. "4111111111111111#1230#123#"."""
        return self._call("POST", f"sessions/{guid}/keys", {"keys": keys})

    def expire_page(self, guid: str) -> dict[str, Any]:
        return self._call("POST", f"sessions/{guid}/expire-page")

    def never_open_link(self, guid: str) -> dict[str, Any]:
        """The caller never opens this payment link: its session stays untouched and live
        until its end (the hosted form refuses it)."""
        return self._call("POST", f"sessions/{guid}/never-open")

    def end_link(self, guid: str) -> dict[str, Any]:
        """The payment link ends now, unused: VCC finishes its session without a result and
        sends the webhook."""
        return self._call("POST", f"sessions/{guid}/end-link")

    def purge(self, guid: str) -> dict[str, Any]:
        return self._call("POST", f"sessions/{guid}/purge")

    def session(self, guid: str) -> dict[str, Any]:
        return self._call("GET", f"sessions/{guid}")

    def api_session(self, guid: str) -> dict[str, Any]:
        """`GET /v1/session/{guid}` as VCC's API answers it (the body its webhook carries),
        with a token of the built-in account's own."""
        token = self.http.post(
            f"{self.url}/vcc/Auth/connect/token",
            data={"grant_type": "client_credentials", "scope": "globalpci"},
            auth=(BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET),
            timeout=TIMEOUT,
        ).json()["access_token"]
        response = self.http.get(
            f"{self.url}/vcc/api/v1/session/{guid}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        if response.status_code >= 400:
            raise SandboxControlError(response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def sessions(self) -> list[dict[str, Any]]:
        return self._call("GET", "sessions")["sessions"]

    # --- knobs, faults, counters ---
    def faults(self, **knobs: Any) -> dict[str, Any]:
        """Add a fault knob: path (token/create/get), count, latency_ms, error_rate,
        status_code, rate_limit (Retry-After seconds), timeout (seconds), malformed."""
        return self._call("POST", "faults", knobs)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def knobs(self, **values: Any) -> dict[str, Any]:
        """Change run-time knobs (token_lifetime_seconds, token_type, retention_seconds,
        page_lifetime_seconds, webhooks, webhook_retry_seconds, webhook_give_up_seconds,
        extra_keys); without arguments, read them."""
        return self._call("POST" if values else "GET", "knobs", values or None)

    def webhooks_off(self) -> None:
        self.knobs(webhooks=False)

    def revoke_tokens(self) -> int:
        return int(self._call("POST", "tokens/revoke")["revoked"])

    def stats(self) -> dict[str, int]:
        return self._call("GET", "stats")

    def sessions_created(self) -> int:
        return self.stats()["sessions_created"]

    def webhooks(self) -> list[dict[str, Any]]:
        return self._call("GET", "webhooks")["webhooks"]

    def reset(self) -> None:
        self._call("POST", "reset")


class SandboxControlError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"sandbox control API answered {status}: {text[:300]}")
        self.status = status


def forget_client_state() -> VccClient | None:
    """What the app's built-in client keeps between calls: the shared token, the circuit
    breaker, and its keep-alive connections (each holds a live-server thread and that
    thread's database connection open)."""
    if BUILTIN not in django_settings.VCC_ACCOUNTS:
        return None
    client = client_for(BUILTIN)
    client.forget_token()
    client.breaker.reset(BUILTIN)
    client.close()
    return client


@pytest.fixture
def sandbox(
    live_server: LiveServer,
    settings: Settings,
    committed_db: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Sandbox]:
    # The live server's threads close their database connection after each request, as a
    # kept-alive HTTP connection (a response still referenced somewhere) would otherwise keep
    # it open and stop the test database from being dropped.
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    settings.SITE_URL = live_server.url
    helper = Sandbox(live_server.url)
    helper.reset()
    client = forget_client_state()
    yield helper
    dispatcher.stop()
    helper.reset()
    helper.http.close()
    if client is not None:
        client.close()  # even if the test moved SITE_URL and so the built-in account
    settings.SITE_URL = live_server.url
    forget_client_state()
