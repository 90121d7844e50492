"""The Celery app shared by the web process (to enqueue) and the worker and beat processes."""

import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentdesk.settings")

app = Celery("agentdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# How often each worker's main process tells the readiness probe it is alive.
HEARTBEAT_SECONDS = 1.0


class Heartbeat(bootsteps.StartStopStep):
    """Writes the worker's heartbeat to the cache every second from its event loop (a probe
    reads one key, rather than broadcasting a ping to every worker)."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        from agentdesk.health import record_worker_heartbeat

        self.tref = worker.timer.call_repeatedly(
            HEARTBEAT_SECONDS, record_worker_heartbeat, (worker.hostname,), priority=10
        )

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(Heartbeat)

# Connects the signals that carry a web request's id into the tasks it enqueues.
import agentdesk.logs  # noqa: E402

# Connects the signals that keep Prometheus' multi-process files right and serve the workers'
# /metrics (METRICS_WORKER_BIND).
import agentdesk.metrics  # noqa: E402, F401
