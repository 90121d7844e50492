"""The agent's desk: find the caller, check what goes to the payment page, start the payment,
watch its outcome. Views parse, authorise, call a service or a selector, and render; what a
screen shows is decided in viewmodels.py. htmx requests get the fragment they target, others
the whole page.

Naming: each view is named as its URL is (`desk:open-caller` is `open_caller`)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseLocation,
)
from django_htmx.middleware import HtmxDetails

from agentdesk.desk import calls, selectors, services
from agentdesk.desk.forms import OrderForm, PaymentDetailsForm, details_of
from agentdesk.desk.viewmodels import order_screen
from agentdesk.shared.cards import CARD_NUMBER_MESSAGE, contains_card_number
from agentdesk.staff.models import Agent
from agentdesk.staff.roles import agent_of, is_agent
from customers.crm import (
    CallerMatch,
    CallerNotFound,
    CrmUnavailable,
    SearchResult,
    find_callers,
    get_crm,
)
from customers.phones import NotAMobile, e164, mobile_e164
from customers.selectors import MIN_QUERY
from payments.models import Order, Payment, PaymentFlow
from payments.orders import PaymentBlocked, blocking_reason, create_order
from payments.services import start_payment

P = ParamSpec("P")


class DeskRequest(HttpRequest):
    htmx: HtmxDetails


# --- Who goes where ---------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Agents land on the desk, staff (supervisors, administrators) on admin."""
    if is_agent(request.user):
        return redirect("desk")
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "desk/no_role.html", status=403)


def sign_in_again(request: DeskRequest) -> HttpResponse:
    """To the sign-in page, and back to this page after; htmx fragments redirect the page."""
    if request.htmx:
        page = request.htmx.current_url_abs_path or reverse("desk")
        login = resolve_url(settings.LOGIN_URL)
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': page})}")
    return redirect_to_login(request.get_full_path())


def agent_required(
    view: Callable[Concatenate[DeskRequest, Agent, P], HttpResponse],
) -> Callable[Concatenate[DeskRequest, P], HttpResponse]:
    """Only agents reach `view`, which gets the signed-in agent after the request."""

    @wraps(view)
    def guarded(request: DeskRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        agent = agent_of(request.user)
        if agent is None:
            if not request.user.is_authenticated:
                return sign_in_again(request)
            return render(request, "desk/no_role.html", status=403)
        response = view(request, agent, *args, **kwargs)
        add_never_cache_headers(response)  # callers' details (and, once, provider tokens)
        return response

    return guarded


# --- Rendering helpers ------------------------------------------------------------------------


def own_origin(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def workspace(request: DeskRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The whole desk page, or only its workspace when htmx asks for it (links that change
    the workspace push their own URL)."""
    if request.htmx.target == "workspace" and not request.htmx.history_restore_request:
        return render(request, f"{template}#workspace", context)
    return render(request, template, context)


def navigate(request: DeskRequest, url: str) -> HttpResponse:
    """After a successful POST: show `url` (htmx loads it into the workspace)."""
    if request.htmx:
        return HttpResponseLocation(url, target="#workspace", swap="innerHTML")
    return redirect(url)


def payment_area(
    request: DeskRequest,
    order: Order,
    agent: Agent,
    *,
    review_form: PaymentDetailsForm | None = None,
    link_input: tuple[str, str] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    """After a start or a retry: the payment area, and the payment data card beside it (the
    whole order page when the browser posted without htmx)."""
    order = selectors.order(order.pk)
    context = order_screen(order, agent, own_origin=own_origin(request), **kwargs).context()
    context["review_form"] = review_form
    if link_input is not None:  # a mobile number refused: as typed, and why
        context["link_mobile"], context["link_error"] = link_input
    if request.htmx:
        return render(request, "desk/order.html#payment-response", {**context, "oob": True})
    return render(request, "desk/order.html", context)


# --- The desk ---------------------------------------------------------------------------------


@agent_required
def desk(request: DeskRequest, agent: Agent) -> HttpResponse:
    context = {"payments": selectors.recent_payments(agent)}
    return workspace(request, "desk/home.html", context)


@require_GET
@agent_required
def search(request: DeskRequest, agent: Agent) -> HttpResponse:
    """Callers matching what the agent typed, from the configured CRM (or the local copy)."""
    query = request.GET.get("q", "").strip()[:100]
    if contains_card_number(query):  # neither looked up nor shown again
        context: dict[str, object] = {"query": "", "refused": CARD_NUMBER_MESSAGE}
    else:
        result = find_callers(query) if len(query) >= MIN_QUERY else None
        context = {"query": query, "result": result}
    if request.htmx:
        return render(request, "desk/desk.html#results", context)
    return render(request, "desk/home.html", context)


@require_GET
@agent_required
def call(request: DeskRequest, agent: Agent) -> HttpResponse:
    """The screen pop: the contact centre opens this for a call (docs/screen-pop.md). The
    caller found by their number is opened; several are listed; none opens manual entry with
    the number filled in. The interaction id goes on the payments taken for that caller."""
    interaction_id = request.GET.get("call", "").strip()[: calls.MAX_INTERACTION_ID]
    if contains_card_number(interaction_id):  # never kept, never shown
        interaction_id = ""
    ani = request.GET.get("ani", "").strip()[:40]
    number = e164(ani) if ani else None
    result = SearchResult([])
    if number is not None:
        result = find_callers(number)
    matches: list[CallerMatch] = [m for m in result.matches if e164(m.phone) == number]
    calls.remember(request.session, calls.Call(interaction_id, number or "", None))
    if number is None:
        notice = (
            "The caller's number is withheld or cannot be read"
            + (f" (“{ani}”)" if ani and not contains_card_number(ani) else "")
            + ": find them with the search on the left, or enter them by hand."
        )
        return render(request, "desk/home.html", {"notice": notice})
    if len(matches) == 1:
        try:
            customer = services.open_caller(matches[0].key, crm=get_crm())
        except (CallerNotFound, CrmUnavailable) as problem:
            return render(request, "desk/home.html", {"notice": str(problem)})
        calls.remember(request.session, calls.Call(interaction_id, number, customer.pk))
        return redirect("desk:caller", customer.pk)
    if matches:
        context = {
            "query": number,
            "result": SearchResult(matches, result.problem),
            "notice": f"{len(matches)} callers have the number {number}: choose one on the left.",
        }
        return render(request, "desk/home.html", context)
    form = PaymentDetailsForm(initial={"phone": number})
    context = {"form": form, "notice": f"No caller has the number {number}: enter them by hand."}
    return render(request, "desk/new_caller.html", context)


@require_POST
@agent_required
def open_caller(request: DeskRequest, agent: Agent) -> HttpResponse:
    """The caller a search result names; the order itself when the search was its reference."""
    try:
        customer = services.open_caller(request.POST.get("key", ""), crm=get_crm())
    except (CallerNotFound, CrmUnavailable) as problem:
        return workspace(request, "desk/home.html", {"notice": str(problem)})
    searched = selectors.order_by_reference(customer, request.POST.get("query", "").strip())
    if searched is not None:
        return navigate(request, reverse("desk:order", args=[searched.pk]))
    return navigate(request, reverse("desk:caller", args=[customer.pk]))


def show_caller(request: DeskRequest, customer_id: int, form: OrderForm | None) -> HttpResponse:
    customer = selectors.caller(customer_id)
    context = {
        "customer": customer,
        "orders": selectors.caller_orders(customer),
        "order_form": form or OrderForm(initial={"currency": selectors.usual_currency(customer)}),
    }
    return workspace(request, "desk/caller.html", context)


@require_GET
@agent_required
def caller(request: DeskRequest, agent: Agent, customer_id: int) -> HttpResponse:
    """The caller on screen: their orders, and a new payment for them."""
    calls.caller_opened(request.session, customer_id)
    return show_caller(request, customer_id, None)


@require_POST
@agent_required
def new_order(request: DeskRequest, agent: Agent, customer_id: int) -> HttpResponse:
    customer = selectors.caller(customer_id)
    form = OrderForm(request.POST)
    if form.is_valid():
        try:
            order = create_order(customer=customer, details=form.order_details())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return navigate(request, reverse("desk:order", args=[order.pk]))
    return show_caller(request, customer_id, form)


@agent_required
def new_caller(request: DeskRequest, agent: Agent) -> HttpResponse:
    """Manual entry: the caller, their billing address and the order, in one form."""
    if request.method == "POST":
        form = PaymentDetailsForm(request.POST)
        if form.is_valid():
            try:
                order = services.enter_caller(
                    customer=form.customer_details(),
                    address=form.address_details(),
                    order=form.order_details(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                calls.caller_opened(request.session, order.customer_id)
                return navigate(request, reverse("desk:order", args=[order.pk]))
    else:
        form = PaymentDetailsForm()
    return workspace(request, "desk/new_caller.html", {"form": form})


@require_POST
@agent_required
def address_fields(request: DeskRequest, agent: Agent) -> HttpResponse:
    """The state and postcode fields as the chosen country wants them (what was typed kept)."""
    initial = {name: request.POST.get(name, "") for name in ("country", "state", "postcode")}
    form = PaymentDetailsForm(initial=initial)
    return render(request, "desk/_details_fields.html#region", {"form": form})


@require_GET
@agent_required
def order(request: DeskRequest, agent: Agent, order_id: int) -> HttpResponse:
    """Review and start: the payment data, the flow, Start payment, then the live outcome."""
    screen = order_screen(selectors.order(order_id), agent, own_origin=own_origin(request))
    return workspace(request, "desk/order.html", screen.context())


@agent_required
def details(request: DeskRequest, agent: Agent, order_id: int) -> HttpResponse:
    """Edit the payment data (caller, billing address, order) before a payment starts."""
    order = selectors.order(order_id)
    initial = details_of(order)
    context: dict[str, Any] = {"order": order, "editable": True}
    if request.method == "POST":
        form = PaymentDetailsForm(request.POST, initial=initial, order=order)
        if form.is_valid():
            try:
                services.update_caller(
                    order=order,
                    customer=form.customer_details(),
                    address=form.address_details(),
                    details=form.order_details(),
                )
            except PaymentBlocked as blocked:
                context.update(editable=False, review_notice=str(blocked))
                return render(request, "desk/order.html#review", context)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return saved_details(request, selectors.order(order_id), agent)
    else:
        reason = blocking_reason(order)
        if reason:
            context.update(editable=False, review_notice=reason)
            return render(request, "desk/order.html#review", context)
        form = PaymentDetailsForm(initial=initial, order=order)
        # The payment area offers no start while the editor is open: a start would use the
        # saved details, not the ones on screen.
        context.update(review_form=form, editing=True, payment_oob=True)
        return render(request, "desk/order.html#details-response", context)
    context["review_form"] = form
    return render(request, "desk/order.html#review", context)


def saved_details(request: DeskRequest, order: Order, agent: Agent) -> HttpResponse:
    """After the details are saved: the payment data as saved, and the payment area again."""
    context = order_screen(order, agent, own_origin=own_origin(request)).context()
    return render(request, "desk/order.html#details-response", {**context, "payment_oob": True})


def begin(
    request: DeskRequest,
    order: Order,
    agent: Agent,
    flow: PaymentFlow,
    retry_of: Payment | None = None,
    link_to: str = "",
) -> HttpResponse:
    """Start (or retry) a payment on `order` (by a link texted to `link_to`, when given),
    after checking its payment data once more. A start the services refuse shows why, next to
    the live attempt when there is one."""
    form = PaymentDetailsForm(data=details_of(order), initial=details_of(order), order=order)
    if not form.is_valid():
        notice = "Fix the payment details marked, then start again."
        return payment_area(request, order, agent, review_form=form, notice=notice)
    try:
        started = start_payment(
            order=order,
            flow=flow,
            agent=agent,
            retry_of=retry_of,
            interaction_id=calls.interaction_for(request.session, order.customer_id),
            link_to=link_to,
        )
    except PaymentBlocked as blocked:
        return payment_area(request, order, agent, notice=str(blocked))
    return payment_area(request, order, agent, started=started)


@require_POST
@agent_required
def start(request: DeskRequest, agent: Agent, order_id: int) -> HttpResponse:
    order = selectors.order(order_id)
    flow = selectors.flow(request.POST.get("flow", ""))
    if flow is None:
        return payment_area(request, order, agent, notice="Choose a payment flow.")
    return begin(request, order, agent, flow)


@require_POST
@agent_required
def send_link(request: DeskRequest, agent: Agent, order_id: int) -> HttpResponse:
    """Pay by link: VCC texts the caller's mobile a link to the provider's card form."""
    order = selectors.order(order_id)
    flow = selectors.flow(request.POST.get("link_flow", ""))
    if flow is None or not flow.allows_links:
        return payment_area(request, order, agent, notice="Choose a flow that sends links.")
    typed = request.POST.get("mobile", "").strip()[:40]
    if contains_card_number(typed):  # never shown again
        return payment_area(request, order, agent, link_input=("", CARD_NUMBER_MESSAGE))
    try:
        number = mobile_e164(typed)
    except NotAMobile as problem:
        return payment_area(request, order, agent, link_input=(typed, str(problem)))
    return begin(request, order, agent, flow, link_to=number)
