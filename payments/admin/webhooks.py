"""Admin for the raw webhook deliveries: read-only, plus a replay action for those allowed to
change deliveries (superusers, or a group given payments.change_webhookdelivery)."""

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from agentdesk.staff.admin_base import RefusesCardNumbers, zoned
from payments import webhooks
from payments.models import WebhookDelivery
from payments.orders import PaymentBlocked


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RefusesCardNumbers):
    list_display = ["pk", "received", "session_guid", "payment", "status", "attempts", "error"]
    list_filter = ["status"]
    search_fields = ["session_guid"]
    list_select_related = ["payment__order"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = readonly_fields = (
        "received",
        "status",
        "error",
        "session_guid",
        "payment",
        "attempts",
        "processed",
        "body",
    )
    received = zoned("received_at", "received at")
    processed = zoned("processed_at", "processed at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_webhookdelivery")

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        assert isinstance(request.user, User)
        replayed = 0
        for delivery in queryset:
            try:
                webhooks.replay(delivery_id=delivery.pk, actor=request.user)
            except PaymentBlocked as error:
                self.message_user(request, f"{delivery}: {error}", messages.WARNING)
            else:
                replayed += 1
        if replayed:
            self.message_user(request, f"{replayed} deliveries queued to be processed again.")
