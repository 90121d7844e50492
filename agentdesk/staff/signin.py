"""Sign-in throttling: failed sign-ins are counted per username and per client address in the
shared cache; LOGIN_FAILURE_LIMIT failures lock both for LOGIN_FAILURE_WINDOW after the last one.

The check lives in the authentication form, so any sign-in view that uses the form is throttled.
A locked attempt never reaches `authenticate()`: no password is tried while locked.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from agentdesk.shared.breaker import count_in_window
from agentdesk.staff.audit import client_ip

LOCKED = "locked"


def failure_keys(username: str, address: str | None) -> list[str]:
    """The cache keys counting failures for this username and this client address."""
    name = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    keys = [f"signin-failures:user:{name}"]
    if address:
        keys.append(f"signin-failures:ip:{address}")
    return keys


def is_locked(username: str, address: str | None) -> bool:
    counts = cache.get_many(failure_keys(username, address))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def record_failure(username: str, address: str | None) -> None:
    """Count one failure for the username and the address; each lock lasts the window after
    the last counted failure."""
    for key in failure_keys(username, address):
        count_in_window(key, settings.LOGIN_FAILURE_WINDOW.total_seconds())


def clear_failures(username: str) -> None:
    """A successful sign-in clears its username's count (not the address's: others share it)."""
    cache.delete(failure_keys(username, None)[0])


def locked_message() -> str:
    minutes = max(1, round(settings.LOGIN_FAILURE_WINDOW.total_seconds() / 60))
    return (
        "Too many failed sign-ins: signing in is locked for "
        f"{minutes} minute{'s' if minutes != 1 else ''}. Try again later."
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    request: HttpRequest | None

    def clean(self) -> dict[str, object]:
        username = str(self.cleaned_data.get("username") or "")
        address = client_ip(self.request)
        if is_locked(username, address):
            raise ValidationError(locked_message(), code=LOCKED)
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username, address)
            raise
        clear_failures(username)
        return cleaned
