"""The desk's views of one attempt once it has started: its status poll, a retry, its provider
page reopened, abandoning it. Kept apart from views.py (finding the caller, the order, starting)
so each module stays small; the URLs are unchanged (`desk:payment-status`, `desk:retry`, ...)."""

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from agentdesk.desk import quickpoll, selectors
from agentdesk.desk.viewmodels import status_view, takes_payments
from agentdesk.desk.views import DeskRequest, agent_required, begin, payment_area, sign_in_again
from agentdesk.staff.models import Agent
from agentdesk.staff.sessions import passive_session
from payments import state_cache, states
from payments.pages import StartedPayment, kept_page
from payments.services import abandon_payment


@require_POST
@agent_required
def retry(request: DeskRequest, agent: Agent, payment_id: int) -> HttpResponse:
    """A new attempt after one that failed to start, was declined, abandoned or expired: on
    the same flow, or on the active flow the agent chose (`flow`, as at Start)."""
    payment = selectors.own_payment(payment_id, agent)
    if not payment.can_retry:
        return payment_area(request, payment.order, agent, notice="This attempt cannot be retried.")
    flow = payment.flow
    if "flow" in request.POST:
        chosen = selectors.flow(request.POST["flow"])
        if chosen is None or (payment.link_phone and not chosen.allows_links):
            notice = "Choose a flow that sends links." if payment.link_phone else "Choose a flow."
            return payment_area(request, payment.order, agent, notice=notice)
        flow = chosen
    return begin(request, payment.order, agent, flow, retry_of=payment, link_to=payment.link_phone)


@require_GET
@agent_required
def retry_flows(request: DeskRequest, agent: Agent, payment_id: int) -> HttpResponse:
    """The flows a retry may use instead, fetched when the agent opens "Retry on another flow"
    (not with every status poll, which stays at its three queries): the active flows, those
    that send links for a link attempt, the one just used preselected."""
    payment = selectors.own_payment(payment_id, agent)
    flows = [flow for flow in selectors.desk_flows() if flow.allows_links or not payment.link_phone]
    context = {"payment": payment, "flows": flows, "can_retry": payment.can_retry}
    return render(request, "desk/order.html#retry-flows", context)


@require_POST
@agent_required
def reopen(request: DeskRequest, agent: Agent, payment_id: int) -> HttpResponse:
    """The provider's page of the agent's attempt again (after a reload, a closed popup or
    another screen), while the attempt waits for the caller and the page lives."""
    payment = selectors.own_payment(payment_id, agent)
    page = kept_page(payment, agent)
    if page is None:
        notice = (
            "The payment page cannot be reopened any more: it has expired or the attempt ended."
        )
        return payment_area(request, payment.order, agent, notice=notice)
    return payment_area(request, payment.order, agent, started=StartedPayment(payment, page))


@require_POST
@agent_required
def abandon(request: DeskRequest, agent: Agent, payment_id: int) -> HttpResponse:
    """The agent moves on from their attempt: the order is free for another one."""
    payment = abandon_payment(payment=selectors.own_payment(payment_id, agent), agent=agent)
    return payment_area(request, payment.order, agent)


@passive_session
@require_GET
def payment_status(request: DeskRequest, payment_id: int) -> HttpResponse:
    """The status panel's poll: after the session's and the user's queries, one for the
    payment's state: 204 while the state the page shows (`seen`) is unchanged; otherwise one
    more (the payment, its order, caller and flow, and what blocks the order) for the panel;
    286 (htmx: stop polling) with the final state and the order's new status."""
    if not request.user.is_authenticated:
        return sign_in_again(request)
    seen = request.GET.get("seen")
    if seen and seen not in states.FINAL_STATES:
        # Most polls change nothing: their answer reads the state alone (a third of the
        # full query's cost, which 200 desks polling every second pay 200 times a second),
        # and lets the next ones be answered from the cache (quickpoll).
        found = selectors.payment_state_for_status(payment_id, request.user.pk)
        if found is None:
            raise Http404("No such payment of yours.")
        state, agent_id = found
        quickpoll.grant(request.session, agent_id)
        state_cache.remember(payment_id, agent_id, state)
        if state == seen:
            return HttpResponse(status=204)
    payment = selectors.payment_for_status(payment_id, request.user.pk)
    if payment is None:
        raise Http404("No such payment of yours.")
    if not payment.is_final:
        quickpoll.grant(request.session, payment.agent_id)
        state_cache.remember(payment.pk, payment.agent_id, payment.state)
    context: dict[str, Any] = {
        "payment": payment,
        "order": payment.order,
        "status": status_view(payment),
    }
    if payment.is_final:  # the order's card too, from the same query
        context.update(editable=takes_payments(payment.order), oob=True)
    response = render(request, "desk/order.html#status-response", context)
    if payment.is_final:
        response.status_code = 286
        # The search results (open orders) are out of date: the search box asks again.
        trigger_client_event(response, "payment-finished")
    add_never_cache_headers(response)
    return response
