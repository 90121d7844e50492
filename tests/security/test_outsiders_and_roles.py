"""The rest of issue 11's attacks, replayed as an outsider, an agent, a supervisor and an
administrator would: the CSV export is a CSRF-protected POST only supervisors make, bad admin
filter values never give a 500, every response carries the Permissions-Policy, and a password
shorter than 12 characters is refused."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.permissions_policy import PERMISSIONS_POLICY
from agentdesk.staff.models import AuditEntry
from tests import builders

pytestmark = pytest.mark.django_db

EXPORT = "/admin/payments/payment/export/"


def persona_client(persona: str, users: dict[str, User], **defaults: object) -> Client:
    if persona == "outsider":
        return Client(**defaults)
    return builders.signed_in(users[persona], **defaults)


@pytest.fixture
def users(agent_user: User, supervisor_user: User, administrator_user: User) -> dict[str, User]:
    return {"agent": agent_user, "supervisor": supervisor_user, "administrator": administrator_user}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", 302), ("agent", 302), ("supervisor", 200), ("administrator", 403)],
)
def test_only_a_supervisor_exports_and_only_by_post(
    persona: str, status: int, users: dict[str, User]
) -> None:
    builders.payment()
    client = persona_client(persona, users)
    answer = client.get(EXPORT).status_code
    assert answer in ((302,) if status == 302 else (405,)), "a GET never exports"
    assert client.post(EXPORT).status_code == status
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.PAYMENTS_EXPORTED).count()
    assert exported == (1 if persona == "supervisor" else 0)


def test_the_export_needs_the_csrf_token(supervisor_user: User) -> None:
    client = builders.signed_in(supervisor_user, enforce_csrf_checks=True)
    assert client.post(EXPORT).status_code == 403
    page = client.get("/admin/payments/payment/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page and f'action="{EXPORT}' in page


BAD_FILTERS = [
    "/admin/payments/payment/?agent=abc",
    "/admin/payments/payment/?agent=1%27%20OR%201=1",
    "/admin/payments/payment/?queue=nonsense",
    "/admin/payments/payment/?environment=nonsense",
    "/admin/payments/payment/?currency=%00",
    "/admin/payments/payment/?created_at__from=yesterday&created_at__to=2026-13-45",
    "/admin/payments/payment/?created_at__gte=not-a-date",
    "/admin/payments/payment/?created_at__year=abc",
    "/admin/payments/order/?created_at__from=31/02/2026",
    "/admin/payments/order/?status=nonsense",
    "/admin/payments/order/?status=%00",
    "/admin/customers/customer/?q=%00",
    "/admin/payments/order/?created_at__day=99&created_at__month=99&created_at__year=2026",
]


@pytest.mark.parametrize("url", BAD_FILTERS)
def test_bad_filter_values_never_give_a_500(supervisor_client: Client, url: str) -> None:
    builders.payment()
    response = supervisor_client.get(url, follow=True)
    assert response.status_code in (200, 400), url


def test_a_bad_agent_filter_is_ignored_and_a_good_one_applies(supervisor_client: Client) -> None:
    payment = builders.payment()
    page = supervisor_client.get("/admin/payments/payment/?agent=abc").content.decode()
    assert payment.order.reference in page
    page = supervisor_client.get(f"/admin/payments/payment/?agent={payment.agent_id + 1}")
    assert payment.order.reference not in page.content.decode()


@pytest.mark.parametrize("persona", ["outsider", "agent", "supervisor", "administrator"])
def test_every_response_carries_the_permissions_policy(
    persona: str, users: dict[str, User]
) -> None:
    client = persona_client(persona, users)
    for url in ["/login/", "/desk/", "/admin/", "/no-such-page/"]:
        response = client.get(url)
        assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY, url
    assert "camera=()" in PERMISSIONS_POLICY and "microphone=()" in PERMISSIONS_POLICY
    assert "payment=()" in PERMISSIONS_POLICY and "geolocation=()" in PERMISSIONS_POLICY


def test_a_password_shorter_than_12_characters_is_refused(administrator_user: User) -> None:
    client = builders.signed_in(administrator_user)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "shortpass",
            "usable_password": "true",
            "password1": "x7!kQ2#p",
            "password2": "x7!kQ2#p",
            **builders.NO_AGENT_INLINE,
        },
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert not User.objects.filter(username="shortpass").exists()
    agent = builders.agent_user("agent9", vcc_agent_id="1009")
    response = client.post(
        f"/admin/auth/user/{agent.pk}/password/",
        {"password1": "x7!kQ2#p9", "password2": "x7!kQ2#p9", "usable_password": "true"},
    )
    assert "at least 12 characters" in response.content.decode()
    agent.refresh_from_db()
    assert agent.check_password(builders.PASSWORD)


def test_the_demo_password_is_long_enough() -> None:
    from django.contrib.auth.password_validation import validate_password

    validate_password("agentdesk-demo")
