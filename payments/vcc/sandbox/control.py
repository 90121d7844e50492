"""The control API: JSON calls that let tests (and demos) drive the sandbox without a browser —
finish a session with any outcome, press the caller's keys, expire a page, purge a result,
switch fault knobs and run-time knobs, read the counters, start again from nothing.

The sandbox only exists in development and tests, so these calls need no authentication.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from payments.vcc.sandbox import links, sessions
from payments.vcc.sandbox.models import (
    AccessToken,
    Call,
    Fault,
    Knobs,
    Session,
    WebhookDelivery,
)

JsonView = Callable[..., HttpResponse]


class BadRequest(ValueError):
    """A control call with a body the sandbox cannot use; `str()` says what is wrong."""


def control(view: JsonView) -> JsonView:
    """A control call: CSRF-exempt JSON; refusals become {"error": ...} with their status."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadRequest as error:
            return JsonResponse({"error": str(error)}, status=400)
        except sessions.SandboxRefused as refused:
            return JsonResponse({"error": str(refused)}, status=refused.status)

    return wrapped


def body_of(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _number(body: dict[str, Any], key: str, *, minimum: float = 0) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise BadRequest(f"{key} must be a number of at least {minimum:g}.")
    return float(value)


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false.")
    return value


# --- Everything ---------------------------------------------------------------------------


@control
@require_POST
def reset(request: HttpRequest) -> JsonResponse:
    """Forget every session, token, fault, counter and knob change."""
    with transaction.atomic():
        for model in (WebhookDelivery, Session, AccessToken, Fault, Call, Knobs):
            model.objects.all().delete()
    return JsonResponse({"reset": True})


@control
@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Counters: token requests, sessions created, GETs, webhook attempts, faults."""
    calls = dict(Call.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    created = dict(
        Session.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    deliveries = WebhookDelivery.objects.aggregate(attempts=Sum("attempts"))
    return JsonResponse(
        {
            "token_requests": calls.get(Call.Kind.TOKEN, 0),
            "create_requests": calls.get(Call.Kind.CREATE, 0),
            "digital_requests": calls.get(Call.Kind.DIGITAL, 0),
            "session_gets": calls.get(Call.Kind.GET, 0),
            "sessions_created": created.get(Session.Kind.AGENT_ASSIST, 0),
            "digital_sessions_created": created.get(Session.Kind.DIGITAL, 0),
            "faults_injected": Call.objects.exclude(fault="").count(),
            "webhook_attempts": deliveries["attempts"] or 0,
            "webhooks_delivered": WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.DELIVERED
            ).count(),
        }
    )


# --- Knobs and faults ---------------------------------------------------------------------

KNOB_NUMBERS = {
    "token_lifetime_seconds": 1,
    "retention_seconds": 0,
    "page_lifetime_seconds": 0,
    "webhook_retry_seconds": 0.01,
    "webhook_give_up_seconds": 0,
}
KNOB_FLAGS = ("webhooks", "extra_keys")


def knobs_view(knobs: Knobs) -> dict[str, Any]:
    return {name: getattr(knobs, name) for name in [*KNOB_NUMBERS, "token_type", *KNOB_FLAGS]}


@control
@require_http_methods(["GET", "POST"])
def knobs(request: HttpRequest) -> JsonResponse:
    """GET the run-time knobs; POST some of them to change them."""
    current = Knobs.current()
    if request.method == "POST":
        body = body_of(request)
        unknown = set(body) - {*KNOB_NUMBERS, "token_type", *KNOB_FLAGS}
        if unknown:
            raise BadRequest(f"Unknown knob(s): {', '.join(sorted(unknown))}.")
        for name, minimum in KNOB_NUMBERS.items():
            value = _number(body, name, minimum=minimum)
            if value is not None:
                setattr(current, name, int(value) if name == "token_lifetime_seconds" else value)
        for name in KNOB_FLAGS:
            flag = _flag(body, name)
            if flag is not None:
                setattr(current, name, flag)
        if "token_type" in body:
            if not isinstance(body["token_type"], str) or not body["token_type"]:
                raise BadRequest("token_type must be a word, e.g. Bearer or bearer.")
            current.token_type = body["token_type"][:20]
        current.save()
    return JsonResponse(knobs_view(current))


def fault_view(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.pk,
        "path": fault.path,
        "latency_ms": fault.latency_ms,
        "error_rate": fault.error_rate,
        "status_code": fault.status_code,
        "rate_limit": fault.rate_limit,
        "timeout": fault.timeout_seconds,
        "malformed": fault.malformed,
        "remaining": fault.remaining,
    }


def fault_from(body: dict[str, Any]) -> Fault:
    unknown = set(body) - {
        "path",
        "count",
        "latency_ms",
        "error_rate",
        "status_code",
        "rate_limit",
        "timeout",
        "malformed",
    }
    if unknown:
        raise BadRequest(f"Unknown fault knob(s): {', '.join(sorted(unknown))}.")
    path = body.get("path", Fault.Path.ANY)
    if path not in Fault.Path.values:
        raise BadRequest(f"path must be one of {', '.join(Fault.Path.values)}.")
    fault = Fault(path=path)
    count = _number(body, "count", minimum=1)
    fault.remaining = int(count) if count is not None else None
    fault.latency_ms = int(_number(body, "latency_ms") or 0)
    error_rate = _number(body, "error_rate") or 0.0
    if error_rate > 1:
        raise BadRequest("error_rate is a probability between 0 and 1.")
    fault.error_rate = error_rate
    status = _number(body, "status_code", minimum=400)
    if status is not None and status > 599:
        raise BadRequest("status_code must be an HTTP error status (400-599).")
    fault.status_code = int(status) if status is not None else None
    # rate_limit: the Retry-After in seconds (true: 1 second).
    fault.rate_limit = 1.0 if body.get("rate_limit") is True else _number(body, "rate_limit")
    # timeout: how long to hold the answer (true: one second past the client's read timeout).
    if body.get("timeout") is True:
        fault.timeout_seconds = settings.VCC_READ_TIMEOUT + 1
    else:
        fault.timeout_seconds = _number(body, "timeout")
    fault.malformed = bool(_flag(body, "malformed"))
    effects = (
        fault.latency_ms,
        fault.error_rate,
        fault.status_code,
        fault.rate_limit is not None,
        fault.timeout_seconds,
        fault.malformed,
    )
    if not any(effects):
        raise BadRequest(
            "Give at least one of latency_ms, error_rate, status_code, rate_limit, timeout, "
            "malformed."
        )
    return fault


@control
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> JsonResponse:
    """GET the fault knobs; POST one more; DELETE them all."""
    if request.method == "POST":
        fault = fault_from(body_of(request))
        fault.save()
        return JsonResponse(fault_view(fault), status=201)
    if request.method == "DELETE":
        Fault.objects.all().delete()
    return JsonResponse({"faults": [fault_view(f) for f in Fault.objects.all()]})


@control
@require_POST
def revoke_tokens(request: HttpRequest) -> JsonResponse:
    """Expire every access token now: the next API call gets a 401."""
    revoked = AccessToken.objects.filter(expires_at__gt=timezone.now()).update(
        expires_at=timezone.now()
    )
    return JsonResponse({"revoked": revoked})


# --- Sessions -----------------------------------------------------------------------------


def session_view(session: Session) -> dict[str, Any]:
    """A session as the control API shows it: counts of keyed digits, never the digits."""
    return {
        "session_guid": str(session.guid),
        "kind": session.kind,
        "account": session.account,
        "account_configuration_id": session.account_configuration_id,
        "agent_id": session.agent_id,
        "skip_call_transfer": session.skip_call_transfer,
        "state": session.state,
        "reported_state": session.reported_state,
        "step": session.step,
        "keyed": {name: len(mask) for name, mask in sessions.masked(session).items()},
        "prompt": session.prompt,
        "page_expired": session.page_expired,
        "never_opened": session.never_opened,
        "purged": session.purged_at is not None,
        "payment_data": session.payment_data,
        "result": session.result,
        "webhooks": [
            {
                "status": delivery.status,
                "attempts": delivery.attempts,
                "last_status": delivery.last_status,
            }
            for delivery in session.webhooks.all()
        ],
    }


@control
@require_GET
def session_list(request: HttpRequest) -> JsonResponse:
    sessions.purge_due()
    listed = Session.objects.prefetch_related("webhooks")[:100]
    return JsonResponse({"sessions": [session_view(s) for s in listed]})


@control
@require_GET
def session_detail(request: HttpRequest, guid: str) -> JsonResponse:
    sessions.purge_due()
    return JsonResponse(session_view(sessions.find(guid)))


@control
@require_POST
def outcome(request: HttpRequest, guid: str) -> JsonResponse:
    """Finish the session: {"outcome": "approved"|"declined"|"error"|"review"|"cancel"|
    "hangup", "amount_minor": optional override of the result's amount, "request_id": optional
    gateway transaction id}."""
    body = body_of(request)
    amount = body.get("amount_minor")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise BadRequest("amount_minor must be a whole number of minor units.")
    request_id = body.get("request_id", "")
    if not isinstance(request_id, str) or len(request_id) > 64:
        raise BadRequest("request_id must be a string of at most 64 characters.")
    session = sessions.complete(
        guid, str(body.get("outcome", "")), amount_minor=amount, request_id=request_id
    )
    return JsonResponse(session_view(session))


@control
@require_POST
def progress(request: HttpRequest, guid: str) -> JsonResponse:
    """Make the session InProgress ({"state": "..."} answers another word as sessionState)."""
    reported = body_of(request).get("state", "")
    if not isinstance(reported, str):
        raise BadRequest("state must be a string.")
    return JsonResponse(session_view(sessions.start_progress(guid, reported_state=reported)))


@control
@require_POST
def keys(request: HttpRequest, guid: str) -> JsonResponse:
    """Press the caller's keys: {"keys": "4111111111111111#1230#123#"}."""
    pressed = body_of(request).get("keys", "")
    if not isinstance(pressed, str) or not pressed:
        raise BadRequest('keys must be a string of 0-9, * and #, e.g. "1234#".')
    for key in pressed:
        sessions.press(guid, key)
    return JsonResponse(session_view(sessions.find(guid)))


@control
@require_POST
def expire_page(request: HttpRequest, guid: str) -> JsonResponse:
    return JsonResponse(session_view(sessions.expire_page(guid)))


@control
@require_POST
def never_open(request: HttpRequest, guid: str) -> JsonResponse:
    """A payment link the caller never opens."""
    return JsonResponse(session_view(links.never_open(guid)))


@control
@require_POST
def end_link(request: HttpRequest, guid: str) -> JsonResponse:
    """A payment link that ends now, unused: finished without a result, webhook sent."""
    return JsonResponse(session_view(links.end_link(guid)))


@control
@require_POST
def purge(request: HttpRequest, guid: str) -> JsonResponse:
    return JsonResponse(session_view(sessions.purge(guid)))


@control
@require_GET
def webhooks(request: HttpRequest) -> JsonResponse:
    deliveries = WebhookDelivery.objects.select_related("session")
    return JsonResponse(
        {
            "webhooks": [
                {
                    "session_guid": str(delivery.session.guid),
                    "status": delivery.status,
                    "attempts": delivery.attempts,
                    "last_status": delivery.last_status,
                }
                for delivery in deliveries
            ]
        }
    )
