"""Orders in the supervisors' history, each listing its payment attempts; and the payment
flows administrators manage."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from agentdesk.shared.times import when
from agentdesk.staff.admin_base import AuditedModelAdmin, LargeTableAdmin, ReadOnly
from payments import selectors
from payments.admin.columns import CSS, PaymentColumns, money
from payments.admin.filters import CurrencyFilter, DateRangeFilter
from payments.models import Order, Payment, PaymentFlow
from payments.vcc.accounts import configured_account_names


class PaymentFlowForm(forms.ModelForm):
    """The VCC account is picked from the configured ones (VCC_ACCOUNTS), not typed."""

    account = forms.ChoiceField(
        label="VCC account", help_text="One of the accounts configured in VCC_ACCOUNTS."
    )

    class Meta:
        model = PaymentFlow
        fields = [
            "name",
            "account",
            "account_configuration_id",
            "environment",
            "display_mode",
            "payment_data_keys",
            "is_active",
            "is_default",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = configured_account_names()
        current = self.instance.account
        choices = [(name, name) for name in names]
        if current and current not in names:
            # Kept visible so the page says what is wrong (the model's check refuses it).
            choices.append((current, f"{current} (not configured)"))
        field = self.fields["account"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        if len(names) == 1 and not current:
            field.initial = names[0]


@admin.register(PaymentFlow)
class PaymentFlowAdmin(AuditedModelAdmin):
    form = PaymentFlowForm
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
        "started",
        "finished",
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
    list_display = ["reference", "customer", "amount_display", "status", "created", "paid"]
    list_filter = [
        "status",
        CurrencyFilter,
        ("created_at", DateRangeFilter),
    ]
    date_hierarchy = "created_at"
    sortable_by = ["created"]
    search_fields = ["reference", "customer"]
    search_help_text = (
        "The start of an order reference or of a customer's name or email (at least 3 "
        "characters), or a whole phone number or CRM id (not case-sensitive)."
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

    @admin.display(description="created", ordering="created_at")
    def created(self, order: Order) -> str:
        return when(order.created_at)

    @admin.display(description="paid")
    def paid(self, order: Order) -> str:
        return when(order.paid_at)
