"""/admin/auth/user/ and /admin/auth/group/: nobody but a superuser widens anyone's rights.

Each attempt is what an administrator (or a supervisor, an agent, an outsider) would post by
hand; each must change nothing and say why, or be refused with 403."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from agentdesk.staff.admin import NOT_YOUR_OWN, SUPERUSER_ONLY
from agentdesk.staff.models import ADMINISTRATORS, AGENTS, SUPERVISORS
from tests import builders

pytestmark = pytest.mark.django_db


def user_form(user: User, **changes: object) -> dict[str, object]:
    """The change form of `user` as the page would post it, with `changes`."""
    data: dict[str, object] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [p.pk for p in user.user_permissions.all()],
        **builders.NO_AGENT_INLINE,
    }
    if user.is_staff:
        data["is_staff"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def change_user(client: Client, user: User, **changes: object) -> str:
    response = client.post(f"/admin/auth/user/{user.pk}/change/", user_form(user, **changes))
    assert response.status_code == 200, "refused with the reason on the page, not saved"
    return response.content.decode()


def group_named(name: str) -> Group:
    return Group.objects.get(name=name)


def export_permission() -> Permission:
    return Permission.objects.get(codename="export_payment")


def test_administrator_cannot_make_themselves_superuser_or_staff(
    administrator_user: User,
) -> None:
    client = builders.signed_in(administrator_user)
    page = change_user(client, administrator_user, is_superuser="on")
    assert SUPERUSER_ONLY in page
    administrator_user.refresh_from_db()
    assert not administrator_user.is_superuser


def test_administrator_cannot_give_staff_status_or_superuser_to_anyone(
    administrator_user: User, agent_user: User
) -> None:
    client = builders.signed_in(administrator_user)
    assert SUPERUSER_ONLY in change_user(client, agent_user, is_staff="on")
    assert SUPERUSER_ONLY in change_user(client, agent_user, is_superuser="on")
    agent_user.refresh_from_db()
    assert not agent_user.is_staff and not agent_user.is_superuser


def test_administrator_cannot_grant_permissions_to_a_user_or_themselves(
    administrator_user: User, agent_user: User
) -> None:
    client = builders.signed_in(administrator_user)
    for user in (administrator_user, agent_user):
        page = change_user(client, user, user_permissions=[export_permission().pk])
        assert SUPERUSER_ONLY in page
        assert not user.user_permissions.exists()
    assert client.post("/admin/payments/payment/export/").status_code == 403


def test_administrator_cannot_change_their_own_groups(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    groups = [group_named(ADMINISTRATORS).pk, group_named(SUPERVISORS).pk]
    assert NOT_YOUR_OWN in change_user(client, administrator_user, groups=groups)
    assert list(administrator_user.groups.values_list("name", flat=True)) == [ADMINISTRATORS]


def test_administrator_cannot_add_anyone_to_administrators(
    administrator_user: User, agent_user: User
) -> None:
    client = builders.signed_in(administrator_user)
    groups = [group_named(AGENTS).pk, group_named(ADMINISTRATORS).pk]
    page = change_user(client, agent_user, groups=groups)
    assert "Only a superuser can grant membership of Administrators." in page
    assert not agent_user.groups.filter(name=ADMINISTRATORS).exists()


def test_administrator_cannot_grant_a_group_holding_permissions_they_lack(
    administrator_user: User, agent_user: User
) -> None:
    exporters = Group.objects.create(name="Exporters")
    exporters.permissions.add(export_permission())
    client = builders.signed_in(administrator_user)
    page = change_user(client, agent_user, groups=[group_named(AGENTS).pk, exporters.pk])
    assert "Only a superuser can grant membership of Exporters." in page
    assert not agent_user.groups.filter(name="Exporters").exists()


def test_administrator_cannot_give_a_group_permissions(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    supervisors = group_named(SUPERVISORS)
    before = set(supervisors.permissions.all())
    response = client.post(
        f"/admin/auth/group/{supervisors.pk}/change/",
        {"name": SUPERVISORS, "permissions": [p.pk for p in Permission.objects.all()]},
    )
    assert response.status_code == 403
    administrators = group_named(ADMINISTRATORS)
    response = client.post(
        f"/admin/auth/group/{administrators.pk}/change/",
        {"name": ADMINISTRATORS, "permissions": [export_permission().pk]},
    )
    assert response.status_code == 403
    assert set(supervisors.permissions.all()) == before
    assert not administrators.permissions.filter(codename="export_payment").exists()


def test_administrator_cannot_add_a_group_with_permissions(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/auth/group/add/", {"name": "Back door", "permissions": [export_permission().pk]}
    )
    assert response.status_code == 200
    assert SUPERUSER_ONLY in response.content.decode()
    assert not Group.objects.filter(name="Back door").exists()
    response = client.post("/admin/auth/group/add/", {"name": "Night shift"})
    assert response.status_code == 302
    assert not group_named("Night shift").permissions.exists()


def test_administrator_cannot_touch_a_superuser(administrator_user: User) -> None:
    root = User.objects.create_superuser("root", password=builders.PASSWORD)
    client = builders.signed_in(administrator_user)
    response = client.post(
        f"/admin/auth/user/{root.pk}/password/",
        {"password1": "taken-over-account", "password2": "taken-over-account"},
    )
    assert response.status_code == 403
    assert client.post(f"/admin/auth/user/{root.pk}/change/", user_form(root)).status_code == 403
    assert client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}).status_code == 403
    root.refresh_from_db()
    assert root.check_password(builders.PASSWORD)


def test_administrator_cannot_bulk_delete_a_superuser(administrator_user: User) -> None:
    root = User.objects.create_superuser("root", password=builders.PASSWORD)
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"},
    )
    assert response.status_code in (200, 403)
    assert User.objects.filter(pk=root.pk).exists()


def test_administrator_manages_agents_and_supervisors(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newsupervisor",
            "usable_password": "true",
            "password1": "a-long-enough-secret",
            "password2": "a-long-enough-secret",
            **builders.NO_AGENT_INLINE,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newsupervisor")
    response = client.post(
        f"/admin/auth/user/{user.pk}/change/",
        user_form(user, groups=[group_named(SUPERVISORS).pk]),
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.groups.filter(name=SUPERVISORS).exists()
    assert user.is_staff, "a supervisor reads admin"
    response = client.post(f"/admin/auth/user/{user.pk}/change/", user_form(user, is_active=""))
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active


def test_superuser_still_grants_everything(administrator_user: User) -> None:
    root = User.objects.create_superuser("root", password=builders.PASSWORD)
    client = builders.signed_in(root)
    response = client.post(
        f"/admin/auth/user/{administrator_user.pk}/change/",
        user_form(administrator_user, is_superuser="on"),
    )
    assert response.status_code == 302
    administrator_user.refresh_from_db()
    assert administrator_user.is_superuser


@pytest.mark.parametrize("persona", ["outsider", "agent", "supervisor"])
def test_nobody_else_reaches_users_or_groups(
    persona: str, agent_user: User, supervisor_user: User
) -> None:
    client = {
        "outsider": Client(),
        "agent": builders.signed_in(agent_user),
        "supervisor": builders.signed_in(supervisor_user),
    }[persona]
    target = supervisor_user if persona != "supervisor" else agent_user
    response = client.post(
        f"/admin/auth/user/{target.pk}/change/", user_form(target, is_superuser="on")
    )
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/admin/login/")
    target.refresh_from_db()
    assert not target.is_superuser
    response = client.post("/admin/auth/group/add/", {"name": "Back door"})
    assert response.status_code in (302, 403)
    assert not Group.objects.filter(name="Back door").exists()
