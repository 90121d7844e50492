"""VCC's side of the contract over HTTP: the OAuth token endpoint and the three Payment API
calls (docs/vcc-payment-api.md, sections 2 and 3)."""

import base64
import binascii
import json
import re
import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from payments.vcc.sandbox import sessions
from payments.vcc.sandbox.clients import (
    PROVIDER_ERRORS,
    SandboxClient,
    authenticate,
    sandbox_clients,
)
from payments.vcc.sandbox.faults import sandbox_call
from payments.vcc.sandbox.models import AccessToken, Call, Fault, Knobs, Session

SCOPE = "globalpci"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def answer(data: dict[str, Any], status: int = 200, *, knobs: Knobs | None = None) -> JsonResponse:
    if knobs is not None and knobs.extra_keys:
        data = {**data, **sessions.EXTRA_KEYS}
    return JsonResponse(data, status=status)


def refuse(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


# --- The token endpoint -------------------------------------------------------------------


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return client_id, secret


@csrf_exempt
@require_POST
@sandbox_call(Call.Kind.TOKEN, Fault.Path.TOKEN)
def token(request: HttpRequest) -> HttpResponse:
    """OAuth2 client credentials: id and secret in the form body or as HTTP Basic."""
    basic = _basic_credentials(request)
    client_id, secret = basic or (
        request.POST.get("client_id", ""),
        request.POST.get("client_secret", ""),
    )
    client = authenticate(client_id, secret)
    if client is None:
        # RFC 6749: 401 when the client tried HTTP Basic, else 400.
        return JsonResponse({"error": "invalid_client"}, status=401 if basic else 400)
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    if SCOPE not in request.POST.get("scope", "").split():
        return JsonResponse({"error": "invalid_scope"}, status=400)
    knobs = Knobs.current()
    issued = AccessToken.objects.create(
        token=secrets.token_urlsafe(32),
        client_id=client.client_id,
        expires_at=timezone.now() + timedelta(seconds=knobs.token_lifetime_seconds),
    )
    return answer(
        {
            "access_token": issued.token,
            "expires_in": knobs.token_lifetime_seconds,
            "token_type": knobs.token_type,
            "scope": SCOPE,
        },
        knobs=knobs,
    )


# --- The Payment API ----------------------------------------------------------------------


def bearer_client(request: HttpRequest) -> SandboxClient | None:
    """The API client whose valid access token the request carries (scheme in any case)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    issued = AccessToken.objects.filter(token=value.strip()).first()
    if issued is None or not issued.is_valid:
        return None
    return sandbox_clients().get(issued.client_id)


def unauthorized() -> JsonResponse:
    response = JsonResponse({"message": "Unauthorized"}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _open(request: HttpRequest, kind: str) -> HttpResponse:
    client = bearer_client(request)
    if client is None:
        return unauthorized()
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return refuse("The request body is not valid JSON.")
    if not isinstance(body, dict):
        return refuse("The request body must be a JSON object.")
    agent_id = body.get("agentId")
    if not isinstance(agent_id, str | int) or isinstance(agent_id, bool) or not str(agent_id):
        return refuse("agentId is required.")
    payment_data = body.get("paymentData")
    if not isinstance(payment_data, dict):
        return refuse("paymentData is required and must be an object.")
    configuration_id = body.get("accountConfigurationId")
    if configuration_id is not None and (
        not isinstance(configuration_id, int) or isinstance(configuration_id, bool)
    ):
        return refuse("accountConfigurationId must be an integer.")
    if configuration_id is not None and configuration_id not in client.configuration_ids:
        return refuse(
            f"Account configuration does not exists for account: {client.account}, "
            f"configuration Id: {configuration_id}."
        )
    if configuration_id is not None and configuration_id in PROVIDER_ERRORS:
        # VCC's documented wording (Responses, Payment API).
        message = (
            "Provider's authorization endpoint returned error message "
            f"'{PROVIDER_ERRORS[configuration_id]}'"
        )
        if PROVIDER_ERRORS[configuration_id] == "invalid_client":
            message += f" for account name: {client.account}, configuration id: {configuration_id}"
        return refuse(message)
    skip = body.get("skipCallTransfer", False)
    if kind == Session.Kind.DIGITAL:
        phone = sessions.payment_data_value(payment_data, "customerphonenumber")
        if not E164.match(phone):
            return refuse("paymentData.CustomerPhoneNumber must be an E.164 phone number.")
    elif not isinstance(skip, bool):
        return refuse("skipCallTransfer must be true or false.")
    session = sessions.open_session(
        client=client,
        kind=kind,
        agent_id=str(agent_id),
        payment_data=payment_data,
        configuration_id=configuration_id,
        skip_call_transfer=skip is True,
    )
    data = {
        "sessionGuid": str(session.guid),
        "iframeUrl": request.build_absolute_uri(
            reverse("sandbox:agent-page", args=[session.page_id])
        ),
        "agentAccessToken": session.agent_access_token,
        "agentRefreshToken": session.agent_refresh_token,
    }
    if kind == Session.Kind.DIGITAL:
        data["paymentLink"] = request.build_absolute_uri(
            reverse("sandbox:pay-by-link", args=[session.guid])
        )
    return answer(data, knobs=Knobs.current())


@csrf_exempt
@require_POST
@sandbox_call(Call.Kind.CREATE, Fault.Path.CREATE)
def create_session(request: HttpRequest) -> HttpResponse:
    """POST /v1/session: an agent-assist session on the agent's call."""
    return _open(request, Session.Kind.AGENT_ASSIST)


@csrf_exempt
@require_POST
@sandbox_call(Call.Kind.DIGITAL, Fault.Path.CREATE)
def create_digital_session(request: HttpRequest) -> HttpResponse:
    """POST /v1/digitalsession: pay by link."""
    return _open(request, Session.Kind.DIGITAL)


@require_GET
@sandbox_call(Call.Kind.GET, Fault.Path.GET)
def get_session(request: HttpRequest, guid: str) -> HttpResponse:
    """GET /v1/session/{guid}: status and result; 404 once purged."""
    client = bearer_client(request)
    if client is None:
        return unauthorized()
    sessions.purge_due()
    try:
        session = sessions.find(guid, client_id=client.client_id)
    except sessions.SandboxRefused as refused:
        return refuse(str(refused), refused.status)
    if session.purged_at is not None:
        return refuse("Session not found.", 404)
    knobs = Knobs.current()
    return answer(sessions.session_body(session, extra_keys=knobs.extra_keys))
