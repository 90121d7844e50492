"""Who may do what in admin (/admin/): agents cannot enter; supervisors view the history,
resolve and export but change nothing else; administrators manage flows, agents, users and
groups but neither resolve nor export; the payment history is read-only for everyone."""

import pytest
from django.contrib.auth.models import User

from tests import builders

pytestmark = pytest.mark.django_db

HISTORY_PAGES = [
    "/admin/payments/payment/",
    "/admin/payments/order/",
    "/admin/customers/customer/",
    "/admin/agentdesk/auditentry/",
]


def test_agent_is_sent_to_sign_in_from_every_admin_page(agent_user: User) -> None:
    client = builders.signed_in(agent_user)
    payment = builders.payment(state="unknown")
    for url in [
        *HISTORY_PAGES,
        f"/admin/payments/payment/{payment.pk}/change/",
        f"/admin/payments/payment/{payment.pk}/resolve/",
        "/admin/payments/payment/export/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login/"), url


def test_supervisor_reads_the_history_and_its_details(supervisor_user: User) -> None:
    payment = builders.payment()
    client = builders.signed_in(supervisor_user)
    for url in [
        *HISTORY_PAGES,
        f"/admin/payments/payment/{payment.pk}/change/",
        f"/admin/payments/order/{payment.order_id}/change/",
        f"/admin/customers/customer/{payment.order.customer_id}/change/",
    ]:
        assert client.get(url).status_code == 200, url


def test_supervisor_cannot_add_change_or_delete_anything(supervisor_user: User) -> None:
    payment = builders.payment(state="unknown")
    client = builders.signed_in(supervisor_user)
    detail = f"/admin/payments/payment/{payment.pk}/change/"
    assert client.post(detail, {"state": "approved"}).status_code == 403
    assert client.get("/admin/payments/payment/add/").status_code == 403
    assert client.post(f"/admin/payments/payment/{payment.pk}/delete/").status_code == 403
    assert client.get("/admin/payments/order/add/").status_code == 403
    assert client.get("/admin/customers/customer/add/").status_code == 403
    assert client.get("/admin/agentdesk/auditentry/add/").status_code == 403
    assert client.get("/admin/agentdesk/agent/add/").status_code == 403
    payment.refresh_from_db()
    assert payment.state == "unknown"
    page = client.get(detail).content.decode()
    assert 'name="_save"' not in page and "<textarea" not in page


def test_supervisor_may_resolve_and_export(supervisor_user: User) -> None:
    payment = builders.payment(state="unknown")
    client = builders.signed_in(supervisor_user)
    assert client.get(f"/admin/payments/payment/{payment.pk}/resolve/").status_code == 200
    assert client.post("/admin/payments/payment/export/").status_code == 200
    page = client.get("/admin/payments/payment/").content.decode()
    assert "Export CSV" in page


def test_administrator_neither_resolves_nor_exports(administrator_user: User) -> None:
    payment = builders.payment(state="unknown")
    client = builders.signed_in(administrator_user)
    assert client.get(f"/admin/payments/payment/{payment.pk}/resolve/").status_code == 403
    response = client.post(
        f"/admin/payments/payment/{payment.pk}/resolve/",
        {"outcome": "approved", "reason": "I think so"},
    )
    assert response.status_code == 403
    assert client.post("/admin/payments/payment/export/").status_code == 403
    assert "Export CSV" not in client.get("/admin/payments/payment/").content.decode()
    payment.refresh_from_db()
    assert payment.state == "unknown"


def test_administrator_manages_agents_users_and_groups(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    for url in [
        "/admin/auth/user/add/",
        "/admin/auth/group/add/",
        "/admin/agentdesk/agent/add/",
        "/admin/payments/paymentflow/add/",
        "/admin/agentdesk/auditentry/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/payments/payment/add/").status_code == 403


def test_nobody_edits_or_deletes_the_history_not_even_a_superuser(db: None) -> None:
    root = User.objects.create_superuser("root", password=builders.PASSWORD)
    payment = builders.payment()
    builders.payment_event(payment)
    client = builders.signed_in(root)
    assert client.get("/admin/payments/payment/add/").status_code == 403
    assert client.post(f"/admin/payments/payment/{payment.pk}/delete/").status_code == 403
    assert client.post(f"/admin/payments/payment/{payment.pk}/change/", {}).status_code == 403
    assert client.get("/admin/agentdesk/auditentry/add/").status_code == 403
