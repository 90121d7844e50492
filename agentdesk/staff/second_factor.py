"""The second factor (PCI DSS 8.4.2), built on django-otp: an authenticator app's TOTP code
(a TOTPDevice) and one-time recovery codes (a StaticDevice).

Who needs one: supervisors and administrators (staff) when MFA_REQUIRED_FOR_STAFF (always in
production), agents when MFA_FOR_AGENTS. Such a user, signed in with a password, reaches
nothing but enrolment (no confirmed authenticator yet) or the code page until a code verifies
the session (django-otp's `login`), admin included.
"""

from base64 import b32encode
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agentdesk.staff import audit
from agentdesk.staff.models import AuditEntry

AUTHENTICATOR = "Authenticator app"
RECOVERY_CODES = "Recovery codes"
# What a user who owes a second factor may still reach: the two pages that take it, signing out.
OPEN_URL_NAMES = frozenset({"login", "logout", "second-factor", "second-factor-enrol"})


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """Whether `user` must verify a second factor in this session."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return bool(settings.MFA_REQUIRED_FOR_STAFF)
    return bool(settings.MFA_FOR_AGENTS)


def is_verified(request: HttpRequest) -> bool:
    verified: Callable[[], bool] | None = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


def authenticator_of(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_authenticator(user: User) -> TOTPDevice:
    """The authenticator `user` is enrolling (a new secret the first time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed by hand: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(
    *, request: HttpRequest, user: User, device: TOTPDevice, code: str
) -> list[str] | None:
    """Confirm `device` with a code it generated: it becomes the user's authenticator, new
    recovery codes replace any old ones, and this session is verified. Returns the recovery
    codes (shown once), or None when the code is wrong."""
    if not device.verify_token(code):
        audit.record(AuditEntry.Action.SECOND_FACTOR_FAILED, actor=user, request=request)
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name=RECOVERY_CODES, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(settings.MFA_RECOVERY_CODES)]
        recovery.token_set.bulk_create([StaticToken(device=recovery, token=c) for c in codes])
        audit.record(AuditEntry.Action.SECOND_FACTOR_ENROLLED, actor=user, request=request)
    otp_login(request, device)
    return codes


def verify(*, request: HttpRequest, user: User, code: str) -> bool:
    """Verify this session with an authenticator code or an unused recovery code (which is
    used up). django-otp refuses a code already used and slows down repeated guesses."""
    device = match_token(user, code.replace(" ", "").replace("-", ""))
    if device is None:
        audit.record(AuditEntry.Action.SECOND_FACTOR_FAILED, actor=user, request=request)
        return False
    if isinstance(device, StaticDevice):
        audit.record(
            AuditEntry.Action.RECOVERY_CODE_USED,
            actor=user,
            request=request,
            left=device.token_set.count(),
        )
    otp_login(request, device)
    return True


def reset(*, user: User, by: User, request: HttpRequest) -> bool:
    """Remove `user`'s authenticator and recovery codes: they enrol again at their next sign-in.
    Returns whether there was anything to remove."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
        audit.record(AuditEntry.Action.SECOND_FACTOR_RESET, actor=by, target=user, request=request)
    return removed > 0


class SecondFactorMiddleware:
    """Sends a signed-in user who owes a second factor to enrolment or to the code page, and
    lets them reach nothing else (admin included) until the session is verified."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: object, args: object, kwargs: object
    ) -> HttpResponse | None:
        user = request.user
        if not needs_second_factor(user) or is_verified(request):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in OPEN_URL_NAMES:
            return None
        assert isinstance(user, User)
        name = "second-factor" if authenticator_of(user) else "second-factor-enrol"
        target = reverse(name) + "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(target)
