"""Fault knobs: latency, 5xx, 429 with Retry-After, answers later than the client's read
timeout, malformed bodies — each for one kind of call or all, for the next N calls or until
cleared. Applied to the token endpoint and the Payment API by the `sandbox_call` decorator,
which also counts every call for `control/stats`."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse

from payments.vcc.sandbox.models import Call, Fault

View = Callable[..., HttpResponse]
# Cut short on purpose: the body of a `malformed` answer.
MALFORMED_BODY = b'{"sessionGuid": "5f0c1a2e-0000-4000-8000-00000000000'


@dataclass
class Plan:
    """What the faults matching one call do to it."""

    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    timeout: float = 0.0
    malformed: bool = False
    names: list[str] = field(default_factory=list)


def _take(fault: Fault) -> bool:
    """Use up one of a counted fault's calls; False when another call took the last one."""
    if fault.remaining is None:
        return True
    return bool(
        Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
    )


def plan_for(path: str) -> Plan:
    plan = Plan()
    faults = Fault.objects.filter(path__in=[path, Fault.Path.ANY]).filter(
        Q(remaining__isnull=True) | Q(remaining__gt=0)
    )
    for fault in faults:
        answers = fault.rate_limit is not None or fault.error_rate > 0 or fault.status_code
        if answers and plan.status is not None:
            continue  # one answer per call: leave this fault for the next one
        if not _take(fault):
            continue
        if fault.latency_ms:
            plan.latency += fault.latency_ms / 1000
            plan.names.append(f"latency {fault.latency_ms}ms")
        if plan.status is None:
            if fault.rate_limit is not None:
                plan.status, plan.retry_after = 429, fault.rate_limit
            elif fault.error_rate > 0:
                if random.random() < fault.error_rate:
                    plan.status = fault.status_code or 503
            elif fault.status_code:
                plan.status = fault.status_code
            if plan.status is not None:
                plan.names.append(f"status {plan.status}")
        if fault.timeout_seconds:
            plan.timeout = max(plan.timeout, fault.timeout_seconds)
            plan.names.append(f"timeout {fault.timeout_seconds}s")
        if fault.malformed:
            plan.malformed = True
            plan.names.append("malformed")
    return plan


def fault_answer(plan: Plan) -> HttpResponse:
    status = plan.status or 503
    if status == 401:
        return JsonResponse({"message": "Unauthorized"}, status=401)
    response = JsonResponse({"message": f"Sandbox fault: HTTP {status}."}, status=status)
    if plan.retry_after is not None:
        response["Retry-After"] = f"{plan.retry_after:g}"
    return response


def sandbox_call(kind: str, path: str) -> Callable[[View], View]:
    """Apply the fault knobs to a sandbox API view and count its calls."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            from payments.vcc.sandbox.webhooks import dispatcher

            dispatcher.ensure_running()
            plan = plan_for(path)
            if plan.latency:
                time.sleep(plan.latency)
            if plan.status is not None:
                response = fault_answer(plan)
            else:
                response = view(request, *args, **kwargs)
            if plan.malformed:
                response = HttpResponse(
                    MALFORMED_BODY, status=response.status_code, content_type="application/json"
                )
            faults = ", ".join(plan.names)[:100]
            Call.objects.create(kind=kind, status=response.status_code, fault=faults)
            if plan.timeout:
                # The call has done its work; only the answer is late. Free the connection
                # while sleeping.
                connection.close()
                time.sleep(plan.timeout)
            return response

        return wrapped

    return decorator
