"""The Prometheus metrics every process counts (docs/operations.md lists them).

Declared once, here, so that the web processes, the Celery workers and the VCC client count
into the same names. With PROMETHEUS_MULTIPROC_DIR set (production: gunicorn and Celery run
several processes each) prometheus_client keeps each process's values in files there and the
exposition adds them up; without it (a laptop, the tests) each process counts in memory.

Labels never hold a session GUID, a payment or order id, a URL with its query, or anything a
caller typed: a flow's name, a state, a VCC account's name, an endpoint's shape, an outcome
word. Those are few, so the series stay few.
"""

import os
import re

from prometheus_client import Counter, Histogram

# prometheus_client writes each process's values there from the first increment on: a missing
# directory must not make a payment's step fail (gunicorn and the worker empty it as they start).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

PREFIX = "agentdesk"

# Seconds, from a quick webhook to a poll a few seconds late and the sweep's last read.
RESULT_DELAY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, float("inf"))
# Seconds a VCC call or a desk request takes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

payments_started = Counter(
    f"{PREFIX}_payments_started",
    "Payments started at the desk, by payment flow.",
    ["flow"],
)
payments_ended = Counter(
    f"{PREFIX}_payments_ended",
    "Payments that left the live states, by the state they reached and their flow.",
    ["flow", "state"],
)
result_delay = Histogram(
    f"{PREFIX}_result_delay_seconds",
    "From VCC's session finishing (its lastUpdatedOn) to the order updated, by the path the "
    "result came home (webhook, poll).",
    ["path"],
    buckets=RESULT_DELAY_BUCKETS,
)
vcc_calls = Counter(
    f"{PREFIX}_vcc_calls",
    "HTTP calls to VCC by account, method, endpoint shape and status (an HTTP status, or "
    "timeout, unreachable, dropped).",
    ["account", "method", "endpoint", "status"],
)
vcc_call_duration = Histogram(
    f"{PREFIX}_vcc_call_duration_seconds",
    "How long HTTP calls to VCC took, by account, method and endpoint shape.",
    ["account", "method", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
vcc_token_fetches = Counter(
    f"{PREFIX}_vcc_token_fetches",
    "OAuth token requests to VCC by account and outcome (ok, failed).",
    ["account", "outcome"],
)
webhook_deliveries = Counter(
    f"{PREFIX}_webhook_deliveries",
    "VCC's webhook deliveries by outcome: refused (bad token), received, invalid (stored "
    "but unreadable), then processed, ignored (no payment has the session) or retry.",
    ["outcome"],
)
poll_reads = Counter(
    f"{PREFIX}_poll_reads",
    "Sessions the batch poller read, by what the read meant (finished, waiting, expired, "
    "unknown, purged, unavailable, bad_response, released).",
    ["outcome"],
)
desk_request_duration = Histogram(
    f"{PREFIX}_desk_request_duration_seconds",
    "Desk requests (the agent's pages and htmx fragments) from arrival to response, by view "
    "name and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)

_PLAIN_SEGMENT = re.compile(r"^(v\d+|[A-Za-z][A-Za-z_-]*)$")


def endpoint_shape(url: str, base: str = "") -> str:
    """The path of `url` (below `base`, a service's API root, when it starts with it), without
    host or query, and with every segment that is not a plain word (a GUID, an id, a token)
    replaced by `{id}`: `https://vcc/api/v1/session/2f3c...` becomes `/v1/session/{id}`."""
    if base and url.startswith(base):
        url = url[len(base.rstrip("/")) :]
    path = url.split("?", 1)[0]
    if "://" in path:
        rest = path.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else "/"
    segments = path.split("/")
    return "/".join(s if not s or _PLAIN_SEGMENT.match(s) else "{id}" for s in segments) or "/"


def count_vcc_call(
    account: str, method: str, url: str, base: str, status: int | str, seconds: float
) -> None:
    """Count one HTTP call to VCC and its duration, by the shape of its path below `base`."""
    endpoint = endpoint_shape(url, base)
    vcc_calls.labels(account=account, method=method, endpoint=endpoint, status=str(status)).inc()
    vcc_call_duration.labels(account=account, method=method, endpoint=endpoint).observe(seconds)
