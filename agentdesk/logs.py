"""Logging: plain text on a laptop, one JSON object per line with LOG_FORMAT=json; the
request id of each web request (from a trusted proxy's X-Request-ID, else new) returned in a
response header, and carried into the Celery tasks the request enqueues (a message header)."""

from collections.abc import Callable
from typing import Any

from celery import signals
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from agentdesk.shared.logcontext import (
    REQUEST_ID_HEADER,
    new_request_id,
    request_id,
    trusted_request_id,
)

TASK_HEADER = "request_id"


class RequestIdMiddleware:
    """Sets the request id for everything this request logs and enqueues."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = None
        if settings.TRUST_REQUEST_ID_HEADER:
            given = trusted_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id.set(given or new_request_id())
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id.get()
            return response
        finally:
            request_id.reset(token)


@signals.before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    current = request_id.get()
    if current and headers is not None:
        headers[TASK_HEADER] = current


@signals.task_prerun.connect
def _take_request_id(task: Any = None, **kwargs: Any) -> None:
    given = trusted_request_id(getattr(task.request, TASK_HEADER, None)) if task else None
    request_id.set(given or "")


@signals.task_postrun.connect
def _drop_request_id(**kwargs: Any) -> None:
    request_id.set("")
