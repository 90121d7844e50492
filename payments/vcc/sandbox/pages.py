"""The pages people see: the PCI provider's agent page (framed by our desk, opened with the
session's agent tokens) and the caller keypad that stands in for the caller's phone."""

import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

from csp.constants import SELF
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from payments.vcc.sandbox import sessions
from payments.vcc.sandbox.models import Session

TOKEN_FIELD = "X-BEARER-TOKEN"
REFRESH_FIELD = "X-REFRESH-TOKEN"
# How often the agent page asks for the caller's progress (milliseconds).
POLL_MS = 300


# --- The provider's agent page ------------------------------------------------------------


def _page_session(page_id: uuid.UUID) -> Session:
    session = Session.objects.filter(page_id=page_id).first()
    if session is None:
        raise Http404("No such payment page.")
    return session


def _matches(given: str, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), expected.encode())


def _authorised(request: HttpRequest, session: Session) -> bool:
    """The agent tokens came with the request: form fields (the desk's auto-posted form) or
    headers (an embedded browser)."""
    access = request.POST.get(TOKEN_FIELD) or request.headers.get(TOKEN_FIELD, "")
    refresh = request.POST.get(REFRESH_FIELD) or request.headers.get(REFRESH_FIELD, "")
    return _matches(access, session.agent_access_token) or _matches(
        refresh, session.agent_refresh_token
    )


def _deny_framing(response: HttpResponse) -> HttpResponse:
    response["X-Frame-Options"] = "DENY"
    return response


def _refused(request: HttpRequest, session: Session) -> HttpResponse:
    return _deny_framing(
        render(request, "sandbox/page_refused.html", {"session": session}, status=403)
    )


def _agent_page(request: HttpRequest, session: Session, *, problem: str = "") -> HttpResponse:
    if session.page_expired:
        return _deny_framing(
            render(request, "sandbox/page_expired.html", {"session": session}, status=200)
        )
    response = render(request, "sandbox/agent_page.html", _agent_context(session, problem))
    # Framed by our desk (same origin in development) until the page expires.
    response["X-Frame-Options"] = "SAMEORIGIN"
    # django-csp's per-response override (what its csp_replace decorator sets), untyped.
    setattr(response, "_csp_replace", {"frame-ancestors": [SELF]})  # noqa: B010
    return response


def _agent_context(session: Session, problem: str) -> dict[str, Any]:
    data = session.payment_data or {}
    return {
        "session": session,
        "problem": problem,
        "state": agent_state(session),
        "amount": sessions.payment_data_value(data, "amount"),
        "currency": sessions.payment_data_value(data, "currency"),
        "token": session.agent_access_token,
        "token_field": TOKEN_FIELD,
        "steps": [
            (Session.Step.CARD_NUMBER, "Card number"),
            (Session.Step.EXPIRY, "Expiry date"),
            (Session.Step.SECURITY_CODE, "Security code"),
        ],
        "poll_ms": POLL_MS,
    }


def agent_state(session: Session) -> dict[str, Any]:
    """What the agent page shows: masked digits, the step, the outcome. Never a digit."""
    result = session.result or {}
    if not session.is_finished:
        outcome = ""
    elif not result:
        outcome = "The call ended before the payment was submitted."
    else:
        outcome = {
            "ACCEPT": "Payment approved.",
            "REJECT": "Payment declined.",
            "ERROR": "The payment gateway reported an error.",
            "REVIEW": "Payment held for review.",
            "CANCEL": "Payment cancelled.",
        }.get(str(result.get("decision")), "Payment finished.")
    return {
        "state": session.state,
        "step": session.step,
        "masked": sessions.masked(session),
        "prompt": session.prompt,
        "ready": session.step == Session.Step.READY and not session.page_expired,
        "finished": session.is_finished,
        "decision": str(result.get("decision", "")),
        "outcome": outcome,
        "expired": session.page_expired and not session.is_finished,
    }


@csrf_exempt  # the provider's page: authorised by the agent tokens, not our CSRF cookie
def agent_page(request: HttpRequest, page_id: uuid.UUID) -> HttpResponse:
    """`/view/<uuid>/framed`: opened by the desk's auto-posted form with the agent tokens."""
    session = _page_session(page_id)
    if session.page_expired:
        return _agent_page(request, session)
    if not _authorised(request, session):
        return _refused(request, session)
    return _agent_page(request, session)


@require_GET
def agent_page_state(request: HttpRequest, page_id: uuid.UUID) -> HttpResponse:
    """The agent page's poll: JSON of agent_state, with the token as a header."""
    session = _page_session(page_id)
    if not _authorised(request, session):
        return JsonResponse({"message": "Unauthorized"}, status=401)
    return JsonResponse(agent_state(session))


@csrf_exempt
@require_POST
def agent_page_submit(request: HttpRequest, page_id: uuid.UUID) -> HttpResponse:
    """The agent page's Submit button: send the keyed card to the gateway."""
    session = _page_session(page_id)
    if session.page_expired:
        return _agent_page(request, session)
    if not _authorised(request, session):
        return _refused(request, session)
    try:
        session = sessions.submit(session)
    except sessions.SandboxRefused as refused:
        session.refresh_from_db()
        return _agent_page(request, session, problem=str(refused))
    return _agent_page(request, session)


# --- The caller keypad --------------------------------------------------------------------

KEYPAD_ROWS = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["*", "0", "#"]]
KEY_IDS = {"*": "star", "#": "hash"}


def caller_of(session: Session) -> str:
    """Who is on the call, as the session's paymentData names them."""
    data = session.payment_data or {}
    names = (sessions.payment_data_value(data, key) for key in ("firstname", "surname"))
    return " ".join(name for name in names if name) or "Unnamed caller"


def amount_of(session: Session) -> str:
    data = session.payment_data or {}
    amount = sessions.payment_data_value(data, "amount")
    return f"{amount} {sessions.payment_data_value(data, 'currency')}".strip()


@require_GET
def keypad_list(request: HttpRequest) -> HttpResponse:
    """The calls a caller could be on: sessions that are not finished and not expired, newest
    first, each named by its caller, amount and start time."""
    sessions.purge_due()
    waiting = Session.objects.exclude(state=Session.State.FINISHED)  # newest first
    calls = [
        {"session": s, "caller": caller_of(s), "amount": amount_of(s)}
        for s in waiting[:50]
        if s.is_live
    ]
    return render(request, "sandbox/keypad_list.html", {"calls": calls})


@require_GET
def keypad(request: HttpRequest, guid: uuid.UUID) -> HttpResponse:
    """The caller's phone on one session's call: 0-9, * and #, and a hang-up button."""
    try:
        session = sessions.find(guid)
    except sessions.SandboxRefused:
        raise Http404("No such call.") from None
    keys = [[(key, KEY_IDS.get(key, key)) for key in row] for row in KEYPAD_ROWS]
    return render(
        request,
        "sandbox/keypad.html",
        {
            "session": session,
            "caller": caller_of(session),
            "amount": amount_of(session),
            "keys": keys,
            "masked": sessions.masked(session),
            "problem": request.GET.get("problem", "")[:200],
        },
    )


@require_POST
def keypad_press(request: HttpRequest, guid: uuid.UUID) -> HttpResponse:
    """One key: answers the phone's new display as JSON to the keypad's script, else goes
    back to the keypad page."""
    problem = ""
    try:
        sessions.press(str(guid), request.POST.get("key", ""))
    except sessions.SandboxRefused as refused:
        problem = str(refused)
    if "application/json" in request.headers.get("Accept", ""):
        try:
            session = sessions.find(guid)
        except sessions.SandboxRefused:
            raise Http404("No such call.") from None
        return JsonResponse(
            {
                "state": session.state,
                "prompt": session.prompt,
                "masked": sessions.masked(session),
                "live": session.is_live,
                "problem": problem,
            }
        )
    return _back_to_keypad(guid, problem)


@require_POST
def keypad_hang_up(request: HttpRequest, guid: uuid.UUID) -> HttpResponse:
    problem = ""
    try:
        sessions.complete(str(guid), "hangup")
    except sessions.SandboxRefused as refused:
        problem = str(refused)
    return _back_to_keypad(guid, problem)


def _back_to_keypad(guid: uuid.UUID, problem: str) -> HttpResponse:
    url = reverse("sandbox:keypad", args=[guid])
    if problem:
        url += "?" + urlencode({"problem": problem})
    return redirect(url)
