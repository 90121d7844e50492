"""What the supervisors' admin pages share: how money, a payment's state and its flow show,
and times with their zone."""

from decimal import Decimal

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from agentdesk.shared.money import format_money
from agentdesk.shared.times import when
from customers.phones import masked
from payments.models import Payment

CSS = {"all": ["payments-admin.css"]}


def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency) or "—"


class PaymentColumns:
    """How a payment's state and flow show wherever payments are listed."""

    @admin.display(description="state")
    def state_label(self, payment: Payment) -> SafeString:
        """The state, coloured by its meaning (payments-admin.css), and the flag."""
        badge = format_html(
            '<span class="state state-{}">{}</span>', payment.state, payment.get_state_display()
        )
        if payment.flagged:
            badge += format_html(' <span class="state state-flagged">{}</span>', "Flagged")
        return badge

    @admin.display(description="flow")
    def flow_name(self, payment: Payment) -> SafeString:
        """The flow, STAGING marked when the payment was taken on staging; a payment link says
        so beneath, with its number masked (lists are read over shoulders; the whole number is
        on the payment's page)."""
        staging = ""
        if payment.environment == payment.flow.Environment.STAGING:
            staging = format_html(' <span class="staging">{}</span>', "STAGING")
        link = (
            format_html('<br><span class="kind">Link to {}</span>', masked(payment.link_phone))
            if payment.kind == Payment.Kind.LINK
            else ""
        )
        return format_html("{}{}{}", payment.flow.name, staging, link)

    @admin.display(description="started", ordering="created_at")
    def started(self, payment: Payment) -> str:
        return when(payment.created_at)

    @admin.display(description="finished")
    def finished(self, payment: Payment) -> str:
        return when(payment.finished_at)

    @admin.display(description="link works until")
    def link_ends(self, payment: Payment) -> str:
        return when(payment.link_expires_at)
