"""Prometheus: the non-public `/metrics` of the web processes, the desk's request latency, the
hooks that keep multi-process counting right, and the workers' own `/metrics`.

`/metrics` is answered by `MetricsMiddleware` before the host check (Prometheus scrapes by
address). With METRICS_TOKEN set it asks for `Authorization: Bearer <token>` (403 otherwise);
unset, it answers only outside production (404 in production). It holds every counter and
histogram of agentdesk/shared/metrics.py, added up over the processes that share
PROMETHEUS_MULTIPROC_DIR, and the payments' gauges read from the rows at scrape time.

A worker machine has no web process: with METRICS_WORKER_BIND set, each Celery worker's main
process serves the workers' counters (same token) on that address.
"""

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Metric,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from agentdesk.shared.metrics import desk_request_duration

log = logging.getLogger("agentdesk.metrics")

METRICS_PATH = "/metrics"
DESK_MODULE = "agentdesk.desk."


def multiprocess_dir() -> str | None:
    """Where the processes of this machine keep their values (None: each process alone)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _ThisProcess(Collector):
    """prometheus_client's default registry (this process alone), as one collector."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(*, with_payments: bool) -> bytes:
    """The text Prometheus reads: the counters of every process sharing the directory (or of
    this process), and, from a web process, the payments' gauges."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    if with_payments:
        from payments.metrics import PaymentsCollector  # needs the apps loaded

        registry.register(PaymentsCollector(list(settings.VCC_ACCOUNTS)))
    return generate_latest(registry)


def refusal(authorization: str) -> int | None:
    """The status refusing a scrape with this Authorization header, or None to answer it."""
    token = settings.METRICS_TOKEN
    if not token:
        return 404 if settings.PRODUCTION else None
    expected = f"Bearer {token}".encode()
    return None if hmac.compare_digest(authorization.encode(), expected) else 403


def _answer(request: HttpRequest) -> HttpResponse:
    status = refusal(request.headers.get("Authorization", ""))
    if status is not None:
        response = HttpResponse(status=status)
    else:
        response = HttpResponse(exposition(with_payments=True), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Answers `/metrics` (see the module's docstring) and times the desk's requests by view
    name (never by path: a path holds ids)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == METRICS_PATH:
            return _answer(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and getattr(match.func, "__module__", "").startswith(DESK_MODULE):
            desk_request_duration.labels(view=match.view_name, method=request.method).observe(
                time.perf_counter() - started
            )
        return response


# --- Many processes ---------------------------------------------------------------------------


def process_exited(pid: int) -> None:
    """Forget the live gauges of a process that ended (its counters are kept and added)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def clear_directory() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before a service's processes start (files of a previous
    run would be added to this one's)."""
    directory = multiprocess_dir()
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


@signals.worker_process_shutdown.connect
def _worker_process_exited(pid: int | None = None, **kwargs: Any) -> None:
    process_exited(pid or os.getpid())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def _worker_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path, authorization = environ.get("PATH_INFO", ""), environ.get("HTTP_AUTHORIZATION", "")
    status = 404 if path != METRICS_PATH else refusal(authorization)
    if status is not None:
        start_response(f"{status} {'Not Found' if status == 404 else 'Forbidden'}", [])
        return [b""]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [exposition(with_payments=False)]


def serve_worker_metrics(bind: str) -> WSGIServer:
    """Serve the workers' `/metrics` on `bind` (host:port) from a daemon thread."""
    host, _, port = bind.rpartition(":")
    server = make_server(host or "127.0.0.1", int(port), _worker_app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("worker metrics on http://%s%s", bind, METRICS_PATH)
    return server


@signals.worker_init.connect
def _start_worker_metrics(**kwargs: Any) -> None:
    clear_directory()
    if settings.METRICS_WORKER_BIND:
        serve_worker_metrics(settings.METRICS_WORKER_BIND)
