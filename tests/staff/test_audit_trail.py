"""The audit trail (agentdesk.staff.signals, agentdesk.staff.admin_base.AuditedModelAdmin and
/admin/agentdesk/auditentry/): sign-ins, sign-outs, failed sign-ins and every admin add,
change and delete are recorded with the actor, address and time; the page is read-only."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.staff.models import AuditEntry
from payments.models import PaymentFlow
from tests import builders

pytestmark = pytest.mark.django_db

A = AuditEntry.Action


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def test_sign_in_and_sign_out_are_recorded(supervisor_user: User) -> None:
    client = Client(REMOTE_ADDR="192.0.2.7")
    response = client.post("/login/", {"username": "supervisor", "password": builders.PASSWORD})
    assert response.status_code == 302
    client.post("/logout/")
    signed_in, signed_out = entries(A.SIGN_IN), entries(A.SIGN_OUT)
    assert [(e.actor, e.actor_name, e.ip_address) for e in signed_in] == [
        (supervisor_user, "supervisor", "192.0.2.7")
    ]
    assert [e.actor for e in signed_out] == [supervisor_user]
    assert signed_in[0].created_at <= signed_out[0].created_at


def test_admin_sign_in_is_recorded_too(supervisor_user: User) -> None:
    Client().post(
        "/admin/login/?next=/admin/",
        {"username": "supervisor", "password": builders.PASSWORD},
    )
    assert [e.actor for e in entries(A.SIGN_IN)] == [supervisor_user]


def test_failed_sign_in_records_the_name_typed_but_never_the_password(
    supervisor_user: User,
) -> None:
    response = Client(REMOTE_ADDR="198.51.100.4").post(
        "/login/", {"username": "supervisor", "password": "hunter2-wrong"}
    )
    assert response.status_code == 200
    [failed] = entries(A.SIGN_IN_FAILED)
    assert (failed.actor, failed.actor_name, failed.ip_address) == (
        None,
        "supervisor",
        "198.51.100.4",
    )
    assert "hunter2" not in str(failed.details) and "hunter2" not in failed.target
    assert entries(A.SIGN_IN) == []


def test_administrators_admin_changes_are_recorded(administrator_user: User) -> None:
    client = Client()
    client.force_login(administrator_user)
    form = {
        "name": "Production cards",
        "account": "builtin",
        "account_configuration_id": "4",
        "environment": "production",
        "display_mode": "iframe",
        "payment_data_keys": '{"amount": "Amount"}',
        "is_active": "on",
    }
    assert client.post("/admin/payments/paymentflow/add/", form).status_code == 302
    flow = PaymentFlow.objects.get(name="Production cards")
    url = f"/admin/payments/paymentflow/{flow.pk}/change/"
    assert client.post(url, {**form, "environment": "staging"}).status_code == 302
    deleted = client.post(f"/admin/payments/paymentflow/{flow.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    changes = entries(A.ADMIN_CHANGE)
    assert [e.details["change"] for e in changes] == ["added", "changed", "deleted"]
    assert {e.actor for e in changes} == {administrator_user}
    assert all(e.details["model"] == "payments.paymentflow" for e in changes)
    assert all(e.details["object_id"] == str(flow.pk) for e in changes)
    assert "Production cards" in changes[0].target
    assert "Environment" in changes[1].details["message"]


def test_user_admin_changes_are_recorded_without_passwords(administrator_user: User) -> None:
    client = Client()
    client.force_login(administrator_user)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newsup",
            "password1": "Quite-a-long-passphrase-42",
            "password2": "Quite-a-long-passphrase-42",
            "usable_password": "true",
            **builders.NO_AGENT_INLINE,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    [added] = entries(A.ADMIN_CHANGE)
    assert added.details["model"] == "auth.user" and "newsup" in added.target
    assert "passphrase" not in str(added.details)


def test_supervisor_reads_the_audit_trail_but_cannot_change_it(supervisor_user: User) -> None:
    client = Client()
    client.force_login(supervisor_user)
    page = client.get("/admin/agentdesk/auditentry/")
    assert page.status_code == 200
    assert "Signed in" in page.content.decode()  # force_login's own entry
    entry = AuditEntry.objects.get()
    assert client.get(f"/admin/agentdesk/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/agentdesk/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/agentdesk/auditentry/{entry.pk}/change/", {}).status_code == 403


def test_agents_cannot_read_the_audit_trail(agent_user: User) -> None:
    client = Client()
    client.force_login(agent_user)
    response = client.get("/admin/agentdesk/auditentry/")
    assert response.status_code == 302
