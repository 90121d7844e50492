"""Health probes for load balancers and orchestrators.

`/healthz`: the process answers (nothing else is touched). `/readyz`: every part a payment
needs, each check named in a JSON answer with its status and detail, 503 when one fails.
Both are answered by `HealthMiddleware`, first in the chain: no host check (a balancer probes
by address), no HTTPS redirect, no session, no CSRF, never cached. A readiness probe costs two
queries and a few cache round trips, and never calls VCC.
"""

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import cache as once

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from kombu import Connection

from agentdesk.shared.health import Check
from payments import health as payments_health

log = logging.getLogger("agentdesk.health")

HEALTHZ = "/healthz"
READYZ = "/readyz"
# Written every second by each worker's main process (agentdesk/celery.py), read by the probe.
WORKER_HEARTBEAT_KEY = "health:worker-heartbeat"
WORKER_SILENT_AFTER = 5.0


def record_worker_heartbeat(hostname: str) -> None:
    """Say that a worker (`hostname`) is alive now. A cache that is down is the probe's to
    report; the worker carries on."""
    try:
        cache.set(WORKER_HEARTBEAT_KEY, (time.time(), hostname), timeout=None)
    except Exception as error:  # the cache client's errors are its own
        log.warning("worker heartbeat not written: %s", error)


@once
def migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration this release ships (read from disk once per process)."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def database_checks() -> list[Check]:
    """The database answers, and every migration of this release is applied (one query)."""
    try:
        applied = set(MigrationRecorder.Migration.objects.values_list("app", "name"))
    except DatabaseError as error:
        connection.close_if_unusable_or_obsolete()
        failure = f"{type(error).__name__}: {error}".strip()
        return [
            Check("database", False, failure),
            Check("migrations", False, "unknown: the database is unreachable"),
        ]
    reachable = Check("database", True, "reachable")
    missing = sorted(migrations_on_disk() - applied)
    if missing:
        names = ", ".join(f"{app}.{name}" for app, name in missing[:5])
        return [reachable, Check("migrations", False, f"{len(missing)} not applied: {names}")]
    return [reachable, Check("migrations", True, "all applied")]


_broker_lock = threading.Lock()
_broker_connections: dict[tuple[int, str], Connection] = {}


def broker_check() -> Check:
    """The Celery broker answers: on Redis, a PING on a connection this process keeps (a new
    connection per probe would cost more than every other check together)."""
    from agentdesk.celery import app

    key = (os.getpid(), str(app.conf.broker_url))
    try:
        with _broker_lock:
            conn = _broker_connections.get(key)
            if conn is None:
                conn = _broker_connections[key] = app.connection_for_write()
            # Connects when needed (Redis: with a PING), failing fast rather than retrying.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            channel = conn.default_channel
            client = getattr(channel, "client", None)
            if client is not None:
                client.ping()
    except Exception as error:  # any failure to reach the broker is the answer
        broken = _broker_connections.pop(key, None)
        if broken is not None:
            broken.collect()
        return Check("broker", False, f"{type(error).__name__}: {error}")
    return Check("broker", True, "reachable")


def cache_checks() -> list[Check]:
    """The cache answers, and what beat and the workers last wrote to it (one round trip)."""
    try:
        known = cache.get_many([WORKER_HEARTBEAT_KEY, payments_health.BEAT_TICK_KEY])
    except Exception as error:  # the cache client's errors are its own
        failure = f"cache unreachable: {type(error).__name__}: {error}"
        return [
            Check("cache", False, failure),
            Check("worker", False, "unknown: the cache is unreachable"),
            Check("beat", False, "unknown: the cache is unreachable"),
        ]
    return [
        Check("cache", True, "reachable"),
        _worker_check(known),
        payments_health.beat_check(known),
    ]


def _worker_check(known: dict[str, object]) -> Check:
    heartbeat = known.get(WORKER_HEARTBEAT_KEY)
    if not isinstance(heartbeat, tuple):
        return Check("worker", False, "no worker has ever answered: is a celery worker running?")
    at, hostname = heartbeat
    age = time.time() - at
    ok = age <= WORKER_SILENT_AFTER
    detail = f"{hostname} answered {age:.1f}s ago"
    return Check("worker", ok, detail if ok else f"{detail}: is a celery worker running?")


def readiness() -> list[Check]:
    """Every check, in a fixed order. A check that needs a part already found down says so
    rather than waiting on it again."""
    database = database_checks()
    cache_results = cache_checks()
    checks = [*database, cache_results[0], broker_check(), *cache_results[1:]]
    if database[0].ok:
        checks.append(payments_health.poller_check())
    else:
        checks.append(Check("poller", False, "unknown: the database is unreachable"))
    if cache_results[0].ok:
        checks += payments_health.vcc_token_checks()
    return checks


def _json(status: int, body: dict[str, object]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    add_never_cache_headers(response)
    return response


def healthz() -> HttpResponse:
    return _json(200, {"status": "ok"})


_last_failing: frozenset[str] = frozenset()


def readyz() -> HttpResponse:
    global _last_failing
    checks = readiness()
    ready = all(check.ok for check in checks)
    failing = frozenset(check.name for check in checks if not check.ok)
    if failing != _last_failing:
        # Said once per change, not once per probe (a balancer asks every second).
        details = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
        log.warning("readiness: %s", f"not ready: {details}" if failing else "ready again")
        _last_failing = failing
    body: dict[str, object] = {
        "status": "ok" if ready else "fail",
        "checks": {
            check.name: {"status": "ok" if check.ok else "fail", "detail": check.detail}
            for check in checks
        },
    }
    response = _json(200 if ready else 503, body)
    # Django would log every 503 as an error; the change above is what an operator needs.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class HealthMiddleware:
    """Answers the two probes before any other middleware runs (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTHZ:
            return healthz()
        if request.path == READYZ:
            return readyz()
        return self.get_response(request)
