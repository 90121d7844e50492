"""Orders in the supervisors' history, each listing its payment attempts; and the payment
flows administrators manage."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from agentdesk.staff.admin_base import AuditedModelAdmin, LargeTableAdmin, ReadOnly
from payments import selectors
from payments.admin.columns import CSS, PaymentColumns, money
from payments.admin.filters import DateRangeFilter, OrderCurrencyFilter
from payments.models import Order, Payment, PaymentFlow


@admin.register(PaymentFlow)
class PaymentFlowAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "account",
        "account_configuration_id",
        "environment",
        "display_mode",
        "is_active",
        "is_default",
        "allows_links",
    ]
    list_filter = ["environment", "account", "is_active", "allows_links"]


class PaymentInline(ReadOnly, PaymentColumns, admin.TabularInline):
    """An order's payment attempts, newest first, each linking to its timeline."""

    model = Payment
    readonly_fields = (
        "state_label",
        "flow_name",
        "agent",
        "created_at",
        "finished_at",
        "gateway_reference",
    )
    fields = readonly_fields
    show_change_link = True
    extra = 0
    can_delete = False
    verbose_name = "payment attempt"

    def get_queryset(self, request: HttpRequest) -> Any:
        # The order too: a payment names itself by its order reference.
        return super().get_queryset(request).select_related("order", "flow", "agent__user")


@admin.register(Order)
class OrderAdmin(LargeTableAdmin):
    list_display = ["reference", "customer", "amount_display", "status", "created_at", "paid_at"]
    list_filter = [
        "status",
        OrderCurrencyFilter,
        ("created_at", DateRangeFilter),
    ]
    date_hierarchy = "created_at"
    sortable_by = ["created_at"]
    search_fields = ["reference", "customer"]
    search_help_text = (
        "A whole order reference, or a customer's name, email, phone or CRM id "
        "(not case-sensitive)."
    )
    search_filter = staticmethod(selectors.order_search)
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    inlines = [PaymentInline]
    change_list_template = "admin/history_change_list.html"

    class Media:
        css = CSS

    @admin.display(description="amount")
    def amount_display(self, order: Order) -> str:
        return money(order.amount, order.currency)
