"""gunicorn settings, read from the environment (see .env.example)."""

import os
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from agentdesk.shared.logcontext import NOT_ACCESS_LOGGED

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads keep a slow request (a VCC call) from blocking the desk's quick status refreshes.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
accesslog = "-"
# gunicorn's default format without the query string (%(U)s is the path alone): a search term
# typed by mistake (a card number, see docs/security.md) never reaches the access log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class AccessLog(Logger):
    """gunicorn's logger, leaving out the requests marked NOT_ACCESS_LOGGED: the status polls
    answered "unchanged" from the cache (agentdesk/desk/quickpoll.py), which 200 desks make 17
    million times a day, each line saying nothing (`desk_request_duration_seconds` counts
    them), and costing the web process a lock and a write."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not environ.get(NOT_ACCESS_LOGGED):
            super().access(resp, req, environ, request_time)


logger_class = AccessLog


def on_starting(server: object) -> None:
    """Before the workers start: forget a previous run's metric files (agentdesk/metrics.py)."""
    from agentdesk.metrics import clear_directory

    clear_directory()


def child_exit(server: object, worker: Any) -> None:
    """A worker process ended: its live gauges go, its counters stay in the sum."""
    from agentdesk.metrics import process_exited

    process_exited(worker.pid)
