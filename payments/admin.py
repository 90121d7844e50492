from django.contrib import admin

from payments.models import Order, Payment, PaymentFlow


@admin.register(PaymentFlow)
class PaymentFlowAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "account",
        "account_configuration_id",
        "environment",
        "display_mode",
        "is_active",
        "is_default",
    ]
    list_filter = ["environment", "account", "is_active"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["reference", "customer__last_name", "customer__email"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "state", "flow", "agent", "created_at", "gateway_reference"]
    list_filter = ["state", "flow"]
    search_fields = ["order__reference", "session_guid", "gateway_reference"]
    list_select_related = ["order", "flow", "agent__user"]
