"""The supervisors' payment history: every attempt, filtered, searched and totalled, with its
timeline; the work queues, the CSV export and the resolution of a payment.

Supervisors read everything and change one thing only: the recorded resolution of a payment of
unknown outcome or with a flagged contradiction (services.resolve_payment, audited).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from agentdesk.shared.cards import (
    CARD_NUMBER_MESSAGE,
    contains_card_number,
    refuse_card_number,
    scrub_card_numbers,
)
from agentdesk.shared.times import when
from agentdesk.staff import audit
from agentdesk.staff.admin_base import CappedPaginator, HistoryAdmin
from agentdesk.staff.models import AuditEntry
from payments import exports, selectors, services
from payments.admin.columns import CSS, PaymentColumns, money
from payments.admin.filters import (
    AgentFilter,
    CurrencyFilter,
    EnvironmentFilter,
    StartedBetweenFilter,
    StartedFilter,
    WorkQueueFilter,
)
from payments.models import Payment
from payments.orders import PaymentBlocked


class ResolutionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            ("approved", "Approved: the money was taken"),
            ("not_taken", "Not taken: no money was taken"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="How you know: e.g. the gateway's report, the caller's bank, the agent.",
        validators=[refuse_card_number],
    )


@admin.register(Payment)
class PaymentAdmin(PaymentColumns, HistoryAdmin):
    # Fits 1366 px beside the filters: the finish time and the gateway's reference are on the
    # payment's page, in the CSV and in the search.
    list_display = [
        "reference",
        "customer",
        "amount",
        "state_label",
        "flow_name",
        "agent_name",
        "started",
    ]
    list_display_links = ["reference"]
    list_select_related = ["order__customer", "flow", "agent__user"]
    list_filter = [
        WorkQueueFilter,
        "state",
        "kind",
        "flow",
        EnvironmentFilter,
        AgentFilter,
        CurrencyFilter,
        ("created_at", StartedFilter),
        ("created_at", StartedBetweenFilter),
    ]
    date_hierarchy = "created_at"
    # Only the start time sorts from an index; sorting a million rows by anything else would not.
    sortable_by = ["started"]
    search_fields = ["order reference", "customer", "session_guid", "gateway_reference"]
    search_help_text = (
        "The start of an order reference, gateway reference or customer's name or email "
        "(at least 3 characters), a whole phone number, VCC session GUID, callGuid or "
        "interaction id (not case-sensitive)."
    )
    search_filter = staticmethod(selectors.payment_search)
    change_list_template = "admin/payments/payment/change_list.html"
    # What a supervisor reads first: what the payment is, then its timeline; the rest below.
    fieldsets = [
        (
            "Payment",
            {
                "fields": [
                    "order_link",
                    "amount",
                    "state_label",
                    "supervisor_status",
                    "kind",
                    "link_phone",
                    "link_ends",
                    "flow_name",
                    "agent",
                    "started",
                    "session_started",
                    "finished",
                    "interaction_id",
                    "call_guid",
                    "message",
                ]
            },
        ),
        ("Timeline", {"fields": ["timeline"]}),
        (
            "The gateway's answer",
            {
                "fields": [
                    "gateway_decision",
                    "gateway_reason_code",
                    "gateway_reference",
                    "result_amount_display",
                    "card_brand",
                    "session_guid",
                ]
            },
        ),
        ("Order", {"fields": ["order_summary"]}),
        ("Customer", {"fields": ["customer_link", "customer_contact", "billing_address"]}),
    ]
    readonly_fields = [
        "order_link",
        "amount",
        "state_label",
        "supervisor_status",
        "flow_name",
        "started",
        "session_started",
        "finished",
        "link_ends",
        "result_amount_display",
        "order_summary",
        "customer_link",
        "customer_contact",
        "billing_address",
        "timeline",
    ]

    class Media:
        css = CSS

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super().get_queryset(request).select_related("order__customer", "flow", "agent__user")
        )

    # -- columns -----------------------------------------------------------------------------

    @admin.display(description="order reference")
    def reference(self, payment: Payment) -> str:
        return payment.order.reference

    @admin.display(description="customer")
    def customer(self, payment: Payment) -> str:
        return payment.order.customer.full_name

    @admin.display(description="amount")
    def amount(self, payment: Payment) -> str:
        return money(payment.order.amount, payment.order.currency)

    @admin.display(description="agent")
    def agent_name(self, payment: Payment) -> str:
        return str(payment.agent)

    # -- the detail page ---------------------------------------------------------------------

    @admin.display(description="session opened")
    def session_started(self, payment: Payment) -> str:
        return when(payment.session_started_at)

    @admin.display(description="supervisor")
    def supervisor_status(self, payment: Payment) -> str:
        """Whether the payment waits for a supervisor and why, or how one resolved it."""
        if payment.flagged or payment.state == Payment.State.UNKNOWN:
            return selectors.why_a_supervisor_is_needed(payment)
        if payment.resolved_at:
            by = payment.resolved_by.get_username() if payment.resolved_by else "?"
            return f"Resolved by {by} on {when(payment.resolved_at)}: {payment.resolution_reason}"
        return "Nothing to resolve."

    @admin.display(description="order")
    def order_link(self, payment: Payment) -> SafeString:
        url = reverse("admin:payments_order_change", args=[payment.order_id])
        return format_html('<a href="{}">{}</a>', url, payment.order.reference)

    @admin.display(description="amount the gateway reported")
    def result_amount_display(self, payment: Payment) -> str:
        return money(payment.result_amount, payment.order.currency)

    @admin.display(description="order")
    def order_summary(self, payment: Payment) -> str:
        order = payment.order
        paid = (
            f"; paid {money(order.paid_amount, order.currency)} on {when(order.paid_at)}"
            if order.paid_at
            else ""
        )
        return f"{order.get_status_display()}: {order.description or 'no description'}{paid}"

    @admin.display(description="customer")
    def customer_link(self, payment: Payment) -> SafeString:
        customer = payment.order.customer
        url = reverse("admin:customers_customer_change", args=[customer.pk])
        return format_html('<a href="{}">{}</a>', url, customer.full_name)

    @admin.display(description="contact")
    def customer_contact(self, payment: Payment) -> str:
        customer = payment.order.customer
        return " · ".join(part for part in (customer.email, customer.phone) if part) or "—"

    @admin.display(description="billing address")
    def billing_address(self, payment: Payment) -> str:
        address = getattr(payment.order.customer, "billing_address", None)
        return str(address) if address else "—"

    @admin.display(description="every event and webhook delivery, oldest first")
    def timeline(self, payment: Payment) -> SafeString:
        return render_to_string(
            "admin/payments/payment/timeline.html", {"entries": selectors.timeline(payment)}
        )

    # -- the list's totals, work queue and export --------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        if not isinstance(response, TemplateResponse) or response.context_data is None:
            return response  # a redirect (e.g. invalid filter parameters)
        changelist = response.context_data.get("cl")
        if isinstance(changelist, ChangeList):
            paginator = changelist.paginator
            capped = isinstance(paginator, CappedPaginator) and paginator.capped
            listed = changelist.queryset
            ids = paginator.sorted_ids if isinstance(paginator, CappedPaginator) else None
            if ids is not None and changelist.query:
                # A search: the count read every matching id; sum those rows by key, the
                # search's joins not walked again. The sidebar's filters are columns of the
                # payment: summed through their indexes (the flagged queue's index alone).
                listed = Payment.objects.filter(pk__in=ids)
            totals = None if capped else [] if ids == [] else selectors.totals_by_currency(listed)
            response.context_data.update(
                {
                    "totals": totals,
                    "work_queue": selectors.work_queue_counts(),
                    "can_export": request.user.has_perm("payments.export_payment"),
                }
            )
        return response

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "export/",
                self.admin_site.admin_view(require_POST(self.export_view)),
                name="payments_payment_export",
            ),
            path(
                "<path:object_id>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="payments_payment_resolve",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        """The filtered, searched list as CSV, streamed row by row from a server-side cursor.
        A POST (it writes to the audit trail), with the list's filters in its query string."""
        if not request.user.has_perm("payments.export_payment"):
            raise PermissionDenied
        if contains_card_number(request.GET.get(SEARCH_VAR, "")):
            self.message_user(request, CARD_NUMBER_MESSAGE, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:payments_payment_changelist"))
        changelist = self.get_changelist_instance(request)
        filters = {
            name: scrub_card_numbers(str(value)) for name, value in changelist.params.items()
        }
        audit.record(
            AuditEntry.Action.PAYMENTS_EXPORTED,
            actor=request.user,
            target="payments",
            request=request,
            filters=filters,
        )
        filename = f"payments-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return StreamingHttpResponse(
            exports.csv_lines(exports.payment_rows(changelist.queryset)),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # -- the supervisor's resolution ---------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_resolve": request.user.has_perm("payments.resolve_payment"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Payment | None = None,
    ) -> Any:
        # The reason a supervisor is needed heads the page, beside the Resolve button.
        waiting = obj is not None and (obj.flagged or obj.state == Payment.State.UNKNOWN)
        context["waiting_reason"] = (
            selectors.why_a_supervisor_is_needed(obj) if obj is not None and waiting else ""
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def resolve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Record the outcome of a payment of unknown outcome or a flagged contradiction."""
        supervisor = request.user
        if not isinstance(supervisor, User) or not supervisor.has_perm("payments.resolve_payment"):
            raise PermissionDenied
        payment = get_object_or_404(self.get_queryset(request), pk=object_id)
        detail_url = reverse("admin:payments_payment_change", args=[payment.pk])
        form = ResolutionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            outcome, reason = form.cleaned_data["outcome"], form.cleaned_data["reason"]
            from_state = payment.state
            try:
                with transaction.atomic():
                    payment = services.resolve_payment(
                        payment=payment, supervisor=supervisor, outcome=outcome, reason=reason
                    )
                    audit.record(
                        AuditEntry.Action.PAYMENT_RESOLVED,
                        actor=request.user,
                        target=payment,
                        request=request,
                        payment_id=payment.pk,
                        order=payment.order.reference,
                        outcome=outcome,
                        reason=payment.resolution_reason,
                        from_state=from_state,
                        to_state=payment.state,
                    )
            except PaymentBlocked as blocked:
                form.add_error(None, str(blocked))
            else:
                payment = self.get_queryset(request).get(pk=payment.pk)
                state = payment.get_state_display().lower()
                status = payment.order.get_status_display().lower()
                self.message_user(
                    request,
                    f"Payment {payment} resolved as {state}; order {payment.order.reference} "
                    f"is {status}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(detail_url)
        # A flagged payment still live waits for VCC's own result first (services.resolve_payment).
        resolvable = not payment.is_live and (
            payment.state == Payment.State.UNKNOWN or payment.flagged
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Resolve payment {payment}",
            "payment": payment,
            "amount": money(payment.order.amount, payment.order.currency),
            "form": form,
            "detail_url": detail_url,
            "resolvable": resolvable,
            "started": when(payment.created_at),
            "waiting_reason": selectors.why_a_supervisor_is_needed(payment) if resolvable else "",
        }
        return TemplateResponse(request, "admin/payments/payment/resolve.html", context)
