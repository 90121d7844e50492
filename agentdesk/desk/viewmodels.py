"""What the desk's screens say, decided in one place so the views and templates stay plain:
the status panel's words for a payment (`status_view`), and which attempt and which notice an
order's screen shows (`order_screen`)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from agentdesk.desk import selectors
from agentdesk.shared.money import format_money
from agentdesk.staff.models import Agent
from customers.phones import international
from payments.models import Order, Payment, PaymentFlow
from payments.orders import blocking_reason
from payments.pages import ProviderPage, StartedPayment, kept_page, page_until
from payments.services import ABANDONED_BY_AGENT, CHECK_THE_GATEWAY

State = Payment.State

# Seconds between reads of a payment's status while it is live, and while a supervisor may
# release an unknown outcome.
STATUS_POLL_SECONDS = 1.0
UNKNOWN_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class StatusView:
    label: str
    tone: str  # wait | ok | bad | warn
    headline: str
    details: list[tuple[str, str]] = field(default_factory=list)
    poll_every: float | None = None
    retry_label: str = ""
    finished: bool = False


def _gateway_error(payment: Payment) -> str:
    code = payment.gateway_reason_code
    return "The card gateway reported an error" + (f" (reason code {code})." if code else ".")


def _unknown(payment: Payment) -> str:
    # The poller's advice to check with the gateway is the supervisor's; the desk says its own.
    message = payment.message.removesuffix(CHECK_THE_GATEWAY).rstrip(".")
    why = f" {message}." if message else ""
    return (
        f"The outcome could not be confirmed.{why} Do not take this payment again: a supervisor "
        "checks with the gateway and releases it."
    )


def _declined(payment: Payment) -> str:
    reason = payment.decline_reason
    return f"{reason[:1].upper()}{reason[1:]}."


# Each state's tone, headline and the new attempt it offers (if any).
_PANEL: dict[str, tuple[str, Callable[[Payment], str], str]] = {
    State.STARTING: ("wait", lambda p: "Opening the payment session…", ""),
    State.IN_PROGRESS: (
        "wait",
        lambda p: (
            "Talk the caller through keying the card on their phone, then press the "
            "payment page's own submit button."
        ),
        "",
    ),
    # The badge says the state: the headline goes on from it, never repeats it.
    State.APPROVED: ("ok", lambda p: "The order is paid.", ""),
    State.DECLINED: ("bad", _declined, "Retry payment"),
    State.ERROR: ("bad", _gateway_error, "Retry payment"),
    State.ABANDONED: (
        "warn",
        lambda p: (
            "You abandoned this attempt: the order is free for another. Should the caller's "
            "card still go through on its page, supervisors see it."
            if p.message == ABANDONED_BY_AGENT
            else "The session ended without a card payment (the caller hung up, or the page "
            "was closed)."
        ),
        "Retry payment",
    ),
    State.EXPIRED: (
        "warn",
        lambda p: "The payment page expired before a card was submitted.",
        "Restart payment",
    ),
    State.UNKNOWN: ("warn", _unknown, ""),
    State.FAILED_TO_START: (
        "bad",
        lambda p: f"The payment did not start: {p.message or 'VCC refused the session.'}",
        "Retry payment",
    ),
}


def _link_sent(payment: Payment) -> str:
    sent = timezone.localtime(payment.session_started_at or payment.created_at)
    ends = timezone.localtime(payment.link_expires_at or sent)
    return (
        f"Link sent to {international(payment.link_phone)} at {sent:%H:%M}; waiting for the "
        f"caller (the link works until {ends:%a %d %b %H:%M}). You can move on: the order "
        "turns Paid when they pay."
    )


# A payment link's own words where they differ from a payment on the phone.
_LINK_PANEL: dict[str, tuple[str, Callable[[Payment], str], str]] = {
    State.IN_PROGRESS: ("wait", _link_sent, ""),
    State.EXPIRED: ("warn", lambda p: "The payment link ended before the caller paid.", ""),
    State.ABANDONED: ("warn", lambda p: "The payment link was closed without a payment.", ""),
}


def status_view(payment: Payment) -> StatusView:
    """The panel's words for `payment` in its current state."""
    tone, headline, retry_label = _PANEL[payment.state]
    if payment.kind == Payment.Kind.LINK:
        tone, headline, _ = _LINK_PANEL.get(payment.state, (tone, headline, ""))
        retry_label = "Send a new link" if retry_label else ""
    details: list[tuple[str, str]] = []
    if payment.state == State.APPROVED:
        order = payment.order
        amount = payment.result_amount if payment.result_amount is not None else order.amount
        details = [
            ("Gateway reference", payment.gateway_reference or "—"),
            ("Amount", format_money(amount, order.currency)),
        ]
        if payment.card_brand:
            details.append(("Card", payment.card_brand))
    poll_every = (
        STATUS_POLL_SECONDS
        if payment.is_live
        else UNKNOWN_POLL_SECONDS
        if payment.state == State.UNKNOWN
        else None
    )
    return StatusView(
        payment.get_state_display(),
        tone,
        headline(payment),
        details,
        poll_every=poll_every,
        retry_label="" if payment.flow_rejected else retry_label,
        finished=not payment.is_live,
    )


@dataclass(frozen=True)
class OrderScreen:
    """An order's screen: its payment data, and a payment area holding either the agent's own
    latest attempt (with the provider page right after a start) or the start form."""

    order: Order
    editable: bool
    notice: str = ""
    payment: Payment | None = None
    page: ProviderPage | None = None
    blocked: str | None = None
    flows: list[PaymentFlow] = field(default_factory=list)
    provider_blocked: str = ""
    # Until when the agent can reopen the provider's page (kept for them for its lifetime), or
    # None.
    reopen_until: datetime | None = None
    # Whether the start form preselects a flow (not after VCC rejected the agent's last one).
    preselect: bool = True

    def context(self) -> dict[str, Any]:
        """The template's names for what this screen shows."""
        context: dict[str, Any] = {
            "order": self.order,
            "editable": self.editable,
            "notice": self.notice,
        }
        if self.payment is None:
            phone = self.order.customer.phone
            return context | {
                "blocked": self.blocked,
                "flows": self.flows,
                "preselect": self.preselect,
                "link_flows": [flow for flow in self.flows if flow.allows_links],
                "link_mobile": international(phone) if phone else "",
            }
        return context | {
            "payment": self.payment,
            "attempt": attempt_number(self.payment),
            "status": status_view(self.payment),
            "page": self.page,
            "frame_name": f"vcc-provider-{self.payment.pk}",
            "provider_blocked": self.provider_blocked,
            "reopen": self.reopen_until is not None,
            "reopen_until": self.reopen_until,
            "waiting": self.payment.state == State.IN_PROGRESS,
        }


def order_screen(
    order: Order,
    agent: Agent,
    *,
    own_origin: str,
    started: StartedPayment | None = None,
    notice: str = "",
) -> OrderScreen:
    """Which attempt and which notice `order`'s screen shows `agent`: a payment just started;
    else their own latest attempt, unless a start was just refused (`notice`) and it is over,
    which shows the start form saying why (once, when that is also why the order is blocked)."""
    blocked = blocking_reason(order)
    if started is not None:
        payment: Payment | None = started.payment
    else:
        latest = selectors.latest_payment(order)
        payment = latest if latest is not None and latest.agent_id == agent.pk else None
        if notice and payment is not None and not payment.is_live:
            payment = None
    rejected = payment is not None and payment.flow_rejected
    if payment is not None and rejected:
        notice = flow_rejected_notice(payment.flow)
    if payment is None or rejected:
        return OrderScreen(
            order,
            editable=blocked is None,
            notice="" if notice == blocked else notice,
            blocked=blocked,
            flows=selectors.desk_flows(),
            preselect=not rejected,
        )
    page = started.page if started else None
    return OrderScreen(
        order,
        editable=blocked is None,
        notice=notice,
        payment=payment,
        page=page,
        provider_blocked=provider_problem(page.url, own_origin) if page else "",
        reopen_until=page_until(payment) if kept_page(payment, agent) else None,
    )


def flow_rejected_notice(flow: PaymentFlow) -> str:
    """What the agent is told after VCC rejected `flow` itself, and what must be fixed."""
    configuration = (
        f"accountConfigurationId {flow.account_configuration_id}"
        if flow.account_configuration_id is not None
        else "its default configuration"
    )
    return (
        f"VCC rejected the payment flow '{flow.name}': {configuration} does not exist on VCC "
        f"account '{flow.account}'. An administrator must correct the flow (admin → Payments → "
        "Payment flows) or switch it off. Choose a flow to start again."
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def provider_problem(provider_url: str, own_origin: str) -> str:
    """Why the browser will refuse to show the provider's page, or "" when our Content Security
    Policy allows its origin (our own, or one of VCC_PROVIDER_ORIGINS)."""
    origin = origin_of(provider_url)
    allowed = {origin_of(own_origin), *(origin_of(o) for o in settings.VCC_PROVIDER_ORIGINS)}
    if origin in allowed:
        return ""
    return (
        f"This desk does not allow payment pages from {origin} (its Content Security Policy), "
        "so the page will stay blank: an administrator must add that origin to "
        "VCC_PROVIDER_ORIGINS."
    )


def attempt_number(payment: Payment) -> int:
    """Which attempt on its order `payment` is: 1 for the order's first (read with the
    payment when selectors.latest_payment annotated it)."""
    known = getattr(payment, "attempt", None)
    if isinstance(known, int):
        return known
    return Payment.objects.filter(order_id=payment.order_id, pk__lte=payment.pk).count()


def takes_payments(order: Order) -> bool:
    """Whether `order` can take another payment (payments.orders.blocking_reason gives None),
    read from its `blocking_state` when selectors annotated it, without another query."""
    if not hasattr(order, "blocking_state"):
        return blocking_reason(order) is None
    return order.status == Order.Status.OPEN and order.blocking_state is None


def order_status(order: Order) -> str:
    """The order's status as the desk says it: an open order that a payment blocks says so."""
    if order.status != Order.Status.OPEN:
        return order.get_status_display()
    if hasattr(order, "blocking_state"):  # annotated by selectors.caller_orders and .order
        blocking = order.blocking_state
    else:
        blocking = (
            order.payments.filter(state__in=Payment.BLOCKING_STATES)
            .values_list("state", flat=True)
            .first()
        )
    if blocking == State.UNKNOWN:
        return "Blocked — waiting for a supervisor"
    if blocking is not None:
        return "Payment in progress"
    return order.get_status_display()
