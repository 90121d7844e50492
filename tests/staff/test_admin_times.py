"""Every time the supervisors' and administrators' admin shows carries its zone (issue 12,
point 10), in the site's time zone: the audit trail, locked sign-ins, webhook deliveries and
customers with their orders, lists and record pages alike (payments and orders already did)."""

from datetime import UTC, datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.urls import reverse

from agentdesk.staff.models import AuditEntry
from payments.models import Order, WebhookDelivery
from tests import builders

pytestmark = pytest.mark.django_db

# 09:30 UTC on a winter day is 10:30 in Paris, whose zone then is CET.
MOMENT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
SHOWN = "15 Jan 2026, 10:30 CET"


@pytest.fixture(autouse=True)
def paris(settings: pytest.FixtureRequest) -> None:
    settings.TIME_ZONE = "Europe/Paris"


def pages(administrator_user: User) -> list[str]:
    """The admin pages with a time on them, each about records made at MOMENT."""
    entry = AuditEntry.objects.create(action=AuditEntry.Action.SIGN_IN, actor_name="amy")
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=MOMENT)
    attempt = AccessAttempt.objects.create(
        username="amy", ip_address="203.0.113.7", failures_since_start=1, user_agent="test"
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=MOMENT)
    payment = builders.payment()
    delivery = builders.webhook_delivery(payment, processed_at=MOMENT)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=MOMENT)
    customer = payment.order.customer
    type(customer).objects.filter(pk=customer.pk).update(created_at=MOMENT)
    Order.objects.filter(pk=payment.order_id).update(created_at=MOMENT, paid_at=MOMENT)
    return [
        reverse("admin:agentdesk_auditentry_changelist"),
        reverse("admin:agentdesk_auditentry_change", args=[entry.pk]),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:axes_accessattempt_change", args=[attempt.pk]),
        reverse("admin:payments_webhookdelivery_changelist"),
        reverse("admin:payments_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:customers_customer_changelist"),
        reverse("admin:customers_customer_change", args=[customer.pk]),
    ]


def test_admin_times_say_their_zone(administrator_user: User) -> None:
    admin = builders.signed_in(administrator_user)
    for url in pages(administrator_user):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert SHOWN in response.content.decode(), url
    entry = AuditEntry.objects.get(actor_name="amy")  # its page's heading and breadcrumbs too
    assert str(entry) == f"{SHOWN}: amy signed in"
