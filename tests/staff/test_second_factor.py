"""The second factor (agentdesk/staff/second_factor.py; /login/enrol/, /login/code/): who owes
one reaches nothing else, admin included; enrolment with a QR code or the secret, confirmed by
a code; recovery codes; codes refused when wrong or used already; the audited reset in admin."""

import re
from base64 import b32decode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agentdesk.staff.models import AuditEntry
from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings) -> None:
    settings.MFA_REQUIRED_FOR_STAFF = True


def password_signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": builders.PASSWORD})
    assert response.status_code == 302
    return client


def send_code(client: Client, code: str, url: str = "/login/code/?next=/admin/"):
    return client.post(url, {"code": code})


def actions(user: User) -> list[str]:
    return list(
        AuditEntry.objects.filter(actor=user).order_by("pk").values_list("action", flat=True)
    )


def test_admin_is_unreachable_until_a_second_factor_is_set_up(required, supervisor_user) -> None:
    client = password_signed_in("supervisor")
    for url in ("/admin/", "/admin/payments/payment/", "/desk/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login/enrol/?next=")


def test_admin_is_unreachable_until_the_code_is_given(required, supervisor_user) -> None:
    builders.second_factor(supervisor_user)
    client = password_signed_in("supervisor")
    response = client.get("/admin/payments/payment/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code/?next=%2Fadmin%2Fpayments%2Fpayment%2F"
    # Admin's own sign-in page is no way round it.
    client.post("/admin/login/", {"username": "supervisor", "password": builders.PASSWORD})
    assert client.get("/admin/").headers["Location"].startswith("/login/code/")


def test_enrolment_shows_the_qr_code_and_secret_and_is_confirmed_by_a_code(
    required, supervisor_user, settings
) -> None:
    # django-otp slows down the try after a wrong code (by a second, doubling); not the point.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = password_signed_in("supervisor")
    page = client.get("/login/enrol/?next=/admin/").content.decode()
    assert 'src="data:image/svg+xml' in page
    device = TOTPDevice.objects.get(user=supervisor_user, confirmed=False)
    secret = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', page)
    assert secret is not None
    assert b32decode(secret.group(1).replace(" ", "")) == device.bin_key

    wrong = client.post("/login/enrol/?next=/admin/", {"code": "000000"})
    assert "That code is wrong or expired" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    done = client.post("/login/enrol/?next=/admin/", {"code": builders.totp_code(device)})
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=supervisor_user).values_list("token", flat=True)
    )
    assert client.get("/admin/").status_code == 200
    assert actions(supervisor_user) == [
        AuditEntry.Action.SIGN_IN,
        AuditEntry.Action.SECOND_FACTOR_FAILED,
        AuditEntry.Action.SECOND_FACTOR_ENROLLED,
    ]


def test_the_authenticator_code_opens_admin(required, supervisor_user) -> None:
    device = builders.second_factor(supervisor_user)
    client = password_signed_in("supervisor")
    response = send_code(client, builders.totp_code(device))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(required, supervisor_user) -> None:
    device = builders.second_factor(supervisor_user)
    client = password_signed_in("supervisor")
    right = builders.totp_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = send_code(client, wrong)
    assert response.status_code == 200
    assert "That code is wrong, expired or used already" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    assert AuditEntry.Action.SECOND_FACTOR_FAILED in actions(supervisor_user)


def test_a_code_cannot_be_used_twice(required, supervisor_user) -> None:
    device = builders.second_factor(supervisor_user)
    code = builders.totp_code(device)
    first = password_signed_in("supervisor")
    assert send_code(first, code).status_code == 302
    # Someone who saw the code (over a shoulder, from a phishing page) signs in with it again.
    second = password_signed_in("supervisor")
    assert send_code(second, code).status_code == 200
    assert second.get("/admin/").status_code == 302


def test_a_recovery_code_signs_in_once(required, supervisor_user) -> None:
    builders.second_factor(supervisor_user, recovery_codes=("abcd2345", "efgh6789"))
    client = password_signed_in("supervisor")
    assert send_code(client, "abcd2345").status_code == 302
    assert client.get("/admin/").status_code == 200
    assert AuditEntry.Action.RECOVERY_CODE_USED in actions(supervisor_user)
    again = password_signed_in("supervisor")
    assert send_code(again, "abcd2345").status_code == 200
    assert again.get("/admin/").status_code == 302


def test_staff_sign_in_with_a_password_alone_when_not_required(settings, supervisor_user) -> None:
    settings.MFA_REQUIRED_FOR_STAFF = False
    client = password_signed_in("supervisor")
    assert client.get("/admin/").status_code == 200


def test_agents_need_no_second_factor_unless_configured(settings, agent_user) -> None:
    settings.MFA_REQUIRED_FOR_STAFF = True
    assert password_signed_in("agent1").get("/desk/").status_code == 200
    settings.MFA_FOR_AGENTS = True
    response = password_signed_in("agent1").get("/desk/")
    assert response.headers["Location"] == "/login/enrol/?next=%2Fdesk%2F"


def test_an_administrator_resets_a_second_factor_audited(
    required, supervisor_user, administrator_user
) -> None:
    builders.second_factor(supervisor_user, recovery_codes=("abcd2345",))
    admin = builders.signed_in(administrator_user)
    admin.post(  # the administrator's own session verified, as after their own sign-in
        "/login/code/", {"code": builders.totp_code(builders.second_factor(administrator_user))}
    )
    listing = admin.get("/admin/auth/user/")
    assert listing.status_code == 200 and "second factor" in listing.content.decode()
    response = admin.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [supervisor_user.pk]},
        follow=True,
    )
    assert "Second factor reset for 1 user(s)" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=supervisor_user).exists()
    assert not StaticToken.objects.filter(device__user=supervisor_user).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.SECOND_FACTOR_RESET)
    assert (entry.actor, entry.target) == (administrator_user, "supervisor")
    # The supervisor sets up a new authenticator at their next sign-in.
    client = password_signed_in("supervisor")
    assert client.get("/admin/").headers["Location"].startswith("/login/enrol/")


def test_only_a_superuser_resets_a_superusers_second_factor(required, administrator_user) -> None:
    boss = User.objects.create_superuser("boss", password=builders.PASSWORD)
    builders.second_factor(boss)
    admin = builders.signed_in(administrator_user)
    admin.post(
        "/login/code/", {"code": builders.totp_code(builders.second_factor(administrator_user))}
    )
    response = admin.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [boss.pk]},
        follow=True,
    )
    assert "Only a superuser can reset boss" in response.content.decode()
    assert TOTPDevice.objects.filter(user=boss).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SECOND_FACTOR_RESET).exists()


def test_supervisors_cannot_reset_a_second_factor(supervisor_client, agent_user) -> None:
    builders.second_factor(agent_user)
    supervisor_client.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [agent_user.pk]},
    )
    assert TOTPDevice.objects.filter(user=agent_user).exists()


def test_the_secret_is_not_shown_again_once_set_up(required, supervisor_user) -> None:
    # Someone holding only the password must not be able to enrol a device of their own.
    device = builders.second_factor(supervisor_user)
    client = password_signed_in("supervisor")
    response = client.get("/login/enrol/?next=/admin/")
    assert response.headers["Location"] == "/login/code/?next=%2Fadmin%2F"
    assert send_code(client, "123456", "/login/enrol/").status_code == 302
    assert list(TOTPDevice.objects.filter(user=supervisor_user)) == [device]


def test_the_code_pages_ask_an_outsider_to_sign_in() -> None:
    for url in ("/login/code/", "/login/enrol/"):
        assert Client().get(url).headers["Location"] == f"/login/?next={url}"
