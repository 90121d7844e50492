"""Pay by link in the sandbox: the caller's phone receives VCC's text message (the SMS inbox,
one list of messages per number), and its link opens the provider's hosted card form, where
the caller types the card (the test cards of cards.py) and pays without an agent.

Two fault knobs (control API): a link the caller never opens, and a link that ends now.

The card details are checked as the keypad's are (Luhn, expiry, security code length) and are
dropped when the session finishes (sessions.finish)."""

import re
import uuid

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from payments.vcc.sandbox import cards, sessions
from payments.vcc.sandbox.models import Session

CARD_FIELDS = ("card_number", "expiry", "security_code")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def pay(guid: uuid.UUID, *, card_number: str, expiry: str, security_code: str) -> str:
    """The caller submits the hosted form: '' once the gateway has answered, else what is
    wrong (nothing is kept of a refused attempt)."""
    with transaction.atomic():
        session = sessions.find(guid, lock=True)
        if session.link_ended_unused:
            return "This payment link has expired. Ask for a new one."
        if session.is_finished:
            return "This payment has already been made."
        if not session.is_live:
            return "This payment link has expired. Ask for a new one."
        number, mmyy, code = _digits(card_number), _digits(expiry), _digits(security_code)
        if not cards.luhn_valid(number):
            return "That is not a valid card number."
        problem = cards.expiry_problem(mmyy, timezone.now())
        if problem:
            return problem
        if len(code) != cards.security_code_length(number):
            return f"Enter the {cards.security_code_length(number)}-digit security code."
        session.state = Session.State.IN_PROGRESS
        session.card_brand = cards.card_brand(number)
        sessions.finish(session, cards.card_outcome(number))
        return ""


def digital(guid: str) -> Session:
    """The locked digital session `guid`; SandboxRefused for a phone session."""
    session = sessions.find(guid, lock=True)
    if session.kind != Session.Kind.DIGITAL:
        raise sessions.SandboxRefused("This session is not a payment link.", 400)
    return session


def never_open(guid: str) -> Session:
    """Fault knob: the caller never opens this link. The hosted form refuses it; the session
    stays untouched (`Created`, never updated) and live until its end, as VCC reports it."""
    with transaction.atomic():
        session = digital(guid)
        session.never_opened = True
        session.save(update_fields=["never_opened"])
        return session


def end_link(guid: str) -> Session:
    """Fault knob: the link ends now, unused. VCC finishes a session that ended without a
    gateway call (`Finished`, `paymentResultData: null`) and sends the webhook; so does this."""
    with transaction.atomic():
        session = digital(guid)
        if session.is_finished:
            raise sessions.SandboxRefused("This payment link has already been used or ended.")
        session.page_expires_at = timezone.now()
        return sessions.finish(session, "hangup")


@require_GET
def sms_inbox(request: HttpRequest) -> HttpResponse:
    """The text messages the provider sent, newest first, by phone number."""
    sessions.purge_due()
    digital = Session.objects.filter(kind=Session.Kind.DIGITAL).order_by("-created_on")[:200]
    inbox: dict[str, list[Session]] = {}
    for session in digital:
        number = sessions.payment_data_value(session.payment_data, "customerphonenumber")
        inbox.setdefault(number or "(purged)", []).append(session)
    return render(request, "sandbox/sms_inbox.html", {"inbox": inbox})


@require_http_methods(["GET", "POST"])
def hosted_form(request: HttpRequest, guid: uuid.UUID) -> HttpResponse:
    """The provider's hosted card form the link opens."""
    try:
        session = sessions.find(guid)
    except sessions.SandboxRefused:
        raise Http404("No such payment link.") from None
    if session.never_opened:
        raise Http404("The caller never opens this payment link.")
    problem = ""
    if request.method == "POST":
        problem = pay(guid, **{name: request.POST.get(name, "")[:30] for name in CARD_FIELDS})
        if not problem:
            return redirect(reverse("sandbox:pay-by-link", args=[guid]))
    session.refresh_from_db()
    data = session.payment_data or {}
    context = {
        "session": session,
        "problem": problem,
        "amount": sessions.payment_data_value(data, "amount"),
        "currency": sessions.payment_data_value(data, "currency"),
        "reference": sessions.payment_data_value(data, "merchantreferencecode"),
        "decision": (session.result or {}).get("decision", ""),
    }
    return render(request, "sandbox/hosted_form.html", context)
