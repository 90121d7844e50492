"""The queries the desk's pages need, each with its joins. An agent sees only their own
payments; customers and orders are shared by all agents (any agent may take a caller's call)."""

from django.conf import settings
from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.shortcuts import get_object_or_404

from agentdesk.shared.currencies import COUNTRY_CURRENCIES
from agentdesk.staff.models import Agent
from customers.models import Customer
from payments.models import Order, Payment, PaymentFlow

RECENT_PAYMENTS = 8
CALLER_ORDERS = 20


def recent_payments(agent: Agent) -> list[Payment]:
    """The agent's own latest payments, for the empty desk."""
    return list(
        Payment.objects.filter(agent=agent)
        .select_related("order__customer")
        .order_by("-created_at", "-pk")[:RECENT_PAYMENTS]
    )


def caller(customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.select_related("billing_address"), pk=customer_id)


def caller_orders(customer: Customer) -> list[Order]:
    """The caller's orders, open ones first, newest first, each with the state of the payment
    blocking it (`blocking_state`, None when none does)."""
    open_first = Case(
        When(status=Order.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    blocking = Payment.objects.filter(order=OuterRef("pk"), state__in=Payment.BLOCKING_STATES)
    return list(
        customer.orders.annotate(blocking_state=Subquery(blocking.values("state")[:1])).order_by(
            open_first, "-created_at", "-pk"
        )[:CALLER_ORDERS]
    )


def usual_currency(customer: Customer) -> str:
    """The currency a new order for `customer` starts in: their last order's, else their
    country's, else the desk's default."""
    last = customer.orders.order_by("-created_at", "-pk").values_list("currency", flat=True)
    country = getattr(getattr(customer, "billing_address", None), "country", "")
    return last.first() or COUNTRY_CURRENCIES.get(country) or settings.DESK_DEFAULT_CURRENCY


def order_by_reference(customer: Customer, reference: str) -> Order | None:
    """`customer`'s order whose reference is `reference` (as typed in the search box)."""
    if not reference:
        return None
    return customer.orders.filter(reference__iexact=reference).order_by("-pk").first()


def order(order_id: int) -> Order:
    """The order with its caller, and the state of the payment blocking it (`blocking_state`,
    None when none does) in the same query."""
    blocking = Payment.objects.filter(order=OuterRef("pk"), state__in=Payment.BLOCKING_STATES)
    orders = Order.objects.select_related("customer__billing_address").annotate(
        blocking_state=Subquery(blocking.values("state")[:1])
    )
    return get_object_or_404(orders, pk=order_id)


def latest_payment(order: Order) -> Payment | None:
    """The order's latest attempt, whoever made it (only its agent sees its details), with
    which attempt on the order it is (`attempt`) in the same query."""
    earlier = (
        Payment.objects.filter(order_id=OuterRef("order_id"), pk__lte=OuterRef("pk"))
        .order_by()
        .values("order_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        order.payments.select_related("flow")
        .annotate(attempt=Subquery(earlier))
        .order_by("-created_at", "-pk")
        .first()
    )


def own_payment(payment_id: int, agent: Agent) -> Payment:
    """One of the agent's own payments, with its order and caller; 404 for anyone else's."""
    return get_object_or_404(
        Payment.objects.select_related("order__customer__billing_address", "flow"),
        pk=payment_id,
        agent=agent,
    )


def payment_state_for_status(payment_id: int, user_id: int) -> tuple[str, int] | None:
    """The state of the payment and its agent, if it is the signed-in user's own."""
    return (
        Payment.objects.filter(pk=payment_id, agent__user_id=user_id)
        .values_list("state", "agent_id")
        .first()
    )


def payment_state_of_agent(payment_id: int, agent_id: int) -> str | None:
    """The state of the payment, if it is that agent's (the quick status poll's one query)."""
    return (
        Payment.objects.filter(pk=payment_id, agent_id=agent_id)
        .values_list("state", flat=True)
        .first()
    )


def payment_for_status(payment_id: int, user_id: int) -> Payment | None:
    """The status poll's one query: the payment with its flow and its order as `order` reads
    it (caller, billing address, `blocking_state`), if it is the signed-in user's own."""
    blocking = Payment.objects.filter(
        order=OuterRef("order_id"), state__in=Payment.BLOCKING_STATES
    ).values("state")[:1]
    payment = (
        Payment.objects.select_related("order__customer__billing_address", "flow")
        .annotate(order_blocking_state=Subquery(blocking))
        .filter(pk=payment_id, agent__user_id=user_id)
        .first()
    )
    if payment is not None:
        # As selectors.order annotates it, so the order's card reads it without a query.
        payment.order.blocking_state = payment.order_blocking_state  # type: ignore[attr-defined]
    return payment


def desk_flows() -> list[PaymentFlow]:
    """Active flows, the default first."""
    return list(PaymentFlow.objects.filter(is_active=True).order_by("-is_default", "name"))


def flow(flow_id: str) -> PaymentFlow | None:
    if not flow_id.isdigit():
        return None
    return PaymentFlow.objects.filter(pk=int(flow_id), is_active=True).first()
