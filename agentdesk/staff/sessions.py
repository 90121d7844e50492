"""Session timeouts.

Idle: SESSION_COOKIE_AGE, renewed by what the agent does (SESSION_SAVE_EVERY_REQUEST), at most
once every SESSION_RENEW_SECONDS (a minute): the requests in between do not write the session
row, three queries fewer on each page (the idle timeout may end up to that minute early).
Never by the views marked `@passive_session` (the desk's own status polling), so a desk left
open does not stay signed in forever. Absolute: SESSION_ABSOLUTE_SECONDS after sign-in the
session ends, however busy it has been.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers

SIGNED_IN_AT = "signed_in_at"
# When the idle timeout was last renewed (the session row last written for it).
RENEWED_AT = "renewed_at"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])
_passive_views: set[Callable[..., HttpResponseBase]] = set()


def passive_session(view: View) -> View:
    """Requests to `view` neither save the session nor renew its idle timeout.
    Apply it outermost (it marks the function the URL resolves to)."""
    _passive_views.add(view)
    return view


class SessionMiddleware(DjangoSessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        session = request.session
        if SESSION_KEY not in session:
            return
        signed_in_at = session.get(SIGNED_IN_AT)
        if signed_in_at is None:
            session[SIGNED_IN_AT] = session[RENEWED_AT] = int(time.time())
        elif time.time() - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
            session.flush()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        match = getattr(request, "resolver_match", None)
        session = getattr(request, "session", None)
        if session is not None and not session.modified and SESSION_KEY in session:
            passive = match is not None and match.func in _passive_views
            now = int(time.time())
            if passive or now - session.get(RENEWED_AT, 0) < settings.SESSION_RENEW_SECONDS:
                patch_vary_headers(response, ("Cookie",))
                return response
            session[RENEWED_AT] = now  # saved below, renewing the idle timeout
        return super().process_response(request, response)


def seconds_left(session: SessionBase) -> int:
    """Whole seconds until the idle or the absolute timeout ends `session` unless something
    renews it (0 for a session that is not signed in)."""
    renewed, signed_in = session.get(RENEWED_AT), session.get(SIGNED_IN_AT)
    if SESSION_KEY not in session or renewed is None or signed_in is None:
        return 0
    ends = min(renewed + settings.SESSION_COOKIE_AGE, signed_in + settings.SESSION_ABSOLUTE_SECONDS)
    return max(0, int(ends - time.time()))
