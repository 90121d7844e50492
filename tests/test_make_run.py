"""`make run` as a newcomer runs it (Makefile, Procfile, scripts/procfile-process): on the
embedded defaults (SQLite, the filesystem broker) it starts web, worker and beat with no
alarming line in the log (no kombu "No hostname", no Celery superuser warning, no favicon 404),
and Ctrl-C (SIGINT to the terminal's process group) stops everything with no ERROR line and
each process stopping with status 0 (no `make: *** Error 130`)."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from payments.management.commands.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[1]
READY = [r"celery@\S+ ready\.", r"beat: Starting", r"Listening at: "]
ALARMS = [
    "No hostname was supplied",
    "superuser privileges",
    "Not Found: /favicon.ico",
    "ERROR",
    "make: ***",
    "Traceback",
    "SIGKILL",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_agent_search(base: str, query: str) -> str:
    """The desk's search results for `query`, as the demo agent signed in over HTTP."""
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=10)
    signed_in = browser.post(
        f"{base}/login/",
        {"username": "agent1", "password": DEMO_PASSWORD},
        headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{base}/login/"},
        timeout=10,
    )
    assert signed_in.ok and "/login/" not in signed_in.url, signed_in.text[:2000]
    found = browser.get(f"{base}/desk/search/", params={"q": query}, timeout=10)
    assert found.status_code == 200, found.text[:2000]
    return found.text


def test_make_run_starts_quietly_and_ctrl_c_stops_it_cleanly(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make install has not run")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ENV")
    }
    env.update(
        VAR_DIR=str(tmp_path),
        WEB_BIND=f"127.0.0.1:{port}",
        SITE_URL=f"http://127.0.0.1:{port}",
        CELERY_CONCURRENCY="2",
    )
    make = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    lines: list[str] = []

    def read() -> None:
        assert make.stdout is not None
        lines.extend(line.rstrip() for line in make.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not all(any(re.search(p, line) for line in lines) for p in READY):
            assert make.poll() is None, "\n".join(lines[-40:])
            assert time.monotonic() < deadline, "\n".join(lines[-40:])
            time.sleep(0.5)
        icon = requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=10)
        assert icon.status_code == 200 and "<svg" in icon.text
        # The demo agent finds a demo caller on the embedded database (SQLite): the search's
        # one-query form is PostgreSQL's, and SQLite once answered it with a 500.
        assert "Patel" in demo_agent_search(f"http://127.0.0.1:{port}", "Pat")
        time.sleep(3)  # beat sends, the worker runs a few rounds
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        # make itself hears the Ctrl-C and ends by it, silently, as any interrupted program
        # does (a shell prints nothing); what it must not do is report a failed recipe.
        assert make.wait(timeout=60) in (0, -signal.SIGINT), "\n".join(lines[-40:])
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    reader.join(timeout=10)
    log = "\n".join(lines)
    for process in ("web", "worker", "beat"):
        assert f"{process}.1 stopped (rc=0)" in log, (process, log[-4000:])
    # The banner names the port it really listens on, not a fixed 8000.
    assert f"Agent desk:  http://127.0.0.1:{port}/" in log, log[:4000]
    assert f"Caller keypad and sandbox: http://127.0.0.1:{port}/sandbox/" in log
    found = [alarm for alarm in ALARMS if alarm in log]
    assert not found, (found, log[-4000:])
