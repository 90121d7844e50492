"""payments/vcc/client.py's OAuth token against the sandbox over real HTTP: fetched once and
shared by clients, threads and processes; refreshed before it expires; one new token and one
retry on a 401; token endpoint errors retried; `bearer` in any case."""

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from payments.vcc.client import VccClient
from payments.vcc.errors import VccCredentialsError
from tests.payments.vcc.conftest import MakeClient, open_session
from tests.sandbox_fixtures import Sandbox

ROOT = Path(__file__).resolve().parents[3]


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def run_python(code: str, sandbox: Sandbox) -> subprocess.Popen[str]:
    """Another process with the same settings (database, cache), the app pointed at the
    sandbox's live server."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
        "SITE_URL": sandbox.url.removesuffix("/sandbox"),
    }
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


TOKEN_IN_ANOTHER_PROCESS = """
import hashlib, sys, time
import django
django.setup()
from payments.vcc.client import client_for
start_at = float(sys.argv[1]) if len(sys.argv) > 1 else 0
client = client_for("builtin")
time.sleep(max(0, start_at - time.time()))
print(hashlib.sha256(client.token().encode()).hexdigest()[:16])
"""


# --- The token ----------------------------------------------------------------------------


def test_token_is_fetched_once_and_shared_by_clients(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    first, second = make_client(), make_client()
    token = first.token()
    assert first.token() == token
    assert second.token() == token
    assert sandbox.stats()["token_requests"] == 1


def test_another_process_reuses_the_token(sandbox: Sandbox, vcc: VccClient) -> None:
    token = vcc.token()
    process = run_python(TOKEN_IN_ANOTHER_PROCESS, sandbox)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip().splitlines()[-1] == fingerprint(token)
    assert sandbox.stats()["token_requests"] == 1


def test_threads_asking_at_once_fetch_one_token(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.faults(path="token", latency_ms=300)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(vcc.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(tokens) == 8
    assert len(set(tokens)) == 1
    assert sandbox.stats()["token_requests"] == 1


def test_processes_asking_at_once_fetch_one_token(sandbox: Sandbox, redis_url: str) -> None:
    """The lock in the shared cache (Redis: an atomic add) keeps processes from stampeding."""
    sandbox.faults(path="token", latency_ms=500)
    start_at = str(time.time() + 3)
    processes = [
        run_python(TOKEN_IN_ANOTHER_PROCESS.replace("sys.argv[1]", start_at), sandbox)
        for _ in range(4)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(out.strip().splitlines()[-1])
    assert len(set(outputs)) == 1
    assert sandbox.stats()["token_requests"] == 1


def test_token_is_refreshed_before_it_expires(sandbox: Sandbox, vcc: VccClient) -> None:
    # A 3-second token is kept 1 second (the refresh margin is at least 30 s, the cache at
    # least 1 s), so a new one is fetched while the old one still works.
    sandbox.knobs(token_lifetime_seconds=3)
    old = vcc.token()
    time.sleep(1.2)
    new = vcc.token()
    assert new != old
    still_valid = requests.get(
        f"{sandbox.url}/vcc/api/v1/session/00000000-0000-4000-8000-000000000000",
        headers={"Authorization": f"Bearer {old}"},
        timeout=5,
    )
    assert still_valid.status_code == 404  # not 401: the old token had not expired yet
    assert sandbox.stats()["token_requests"] == 2


def test_a_401_gets_one_new_token_and_one_retry(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.revoke_tokens()
    assert vcc.get_session(guid).session_guid == guid
    sandbox.revoke_tokens()
    open_session(vcc)  # a 401 means VCC did nothing: retrying the POST is safe
    stats = sandbox.stats()
    assert stats["token_requests"] == 3
    assert (stats["session_gets"], stats["create_requests"]) == (2, 3)
    assert stats["sessions_created"] == 2


def test_a_second_401_is_a_credentials_error(sandbox: Sandbox, vcc: VccClient) -> None:
    guid = open_session(vcc)
    sandbox.faults(path="get", status_code=401, count=2)
    with pytest.raises(VccCredentialsError, match="refused a fresh token"):
        vcc.get_session(guid)
    assert sandbox.stats()["session_gets"] == 2
    assert sandbox.stats()["token_requests"] == 2


def test_token_endpoint_errors_are_retried(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.faults(path="token", status_code=503, count=2)
    assert vcc.token()
    assert sandbox.stats()["token_requests"] == 3


def test_lowercase_bearer_token_type_is_accepted(sandbox: Sandbox, vcc: VccClient) -> None:
    sandbox.knobs(token_type="bearer")
    assert vcc.get_session(open_session(vcc)).session_state == "Created"
