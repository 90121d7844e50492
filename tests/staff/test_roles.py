"""The role groups made by migration: agents take payments but cannot enter admin; supervisors
read everything in admin and change nothing; administrators manage flows, agents and users."""

import pytest
from django.contrib.auth.models import User

from payments.models import PaymentFlow
from tests import builders

pytestmark = pytest.mark.django_db


def test_agent_lands_on_the_desk_and_cannot_enter_admin(agent_user: User) -> None:
    client = builders.signed_in(agent_user)
    assert client.get("/").headers["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login/")


def test_supervisor_lands_on_admin_and_reads_but_cannot_change(supervisor_user: User) -> None:
    flow = builders.flow()
    order = builders.order()
    client = builders.signed_in(supervisor_user)
    assert client.get("/").headers["Location"] == "/admin/"
    assert client.get("/desk/").status_code == 403
    for url in ("/admin/payments/order/", "/admin/payments/payment/", "/admin/customers/customer/"):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/admin/payments/order/{order.pk}/change/").status_code == 200
    assert client.get("/admin/payments/paymentflow/add/").status_code == 403
    response = client.post(f"/admin/payments/paymentflow/{flow.pk}/change/", {"name": "renamed"})
    assert response.status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def test_administrator_manages_flows_and_users(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/payments/paymentflow/add/",
        {
            "name": "Production cards",
            "account": "builtin",
            "account_configuration_id": "4",
            "environment": "production",
            "display_mode": "popup",
            "payment_data_keys": '{"amount": "Amount", "currency": "Currency"}',
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    flow = PaymentFlow.objects.get(name="Production cards")
    assert (flow.account_configuration_id, flow.is_staging) == (4, False)
    assert client.get("/admin/auth/user/").status_code == 200


def test_flow_with_unknown_account_is_refused_in_admin(administrator_user: User) -> None:
    response = builders.signed_in(administrator_user).post(
        "/admin/payments/paymentflow/add/",
        {
            "name": "Typo",
            "account": "prodution",
            "environment": "production",
            "display_mode": "iframe",
            "payment_data_keys": "{}",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Unknown VCC account; configured: builtin." in response.content.decode()


def test_user_without_a_role_is_told_so(db: None) -> None:
    client = builders.signed_in(User.objects.create_user("nobody", password="x"))
    response = client.get("/", follow=False)
    assert response.status_code == 403
    assert "not set up as an agent" in response.content.decode()
