"""Session timeouts.

Idle: SESSION_COOKIE_AGE, renewed by every request the agent makes (SESSION_SAVE_EVERY_REQUEST),
except by the views marked `@passive_session` (the desk's own status polling), so a desk left
open does not stay signed in forever. Absolute: SESSION_ABSOLUTE_SECONDS after sign-in the
session ends, however busy it has been.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers

SIGNED_IN_AT = "signed_in_at"

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
            session[SIGNED_IN_AT] = int(time.time())
        elif time.time() - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
            session.flush()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        match = getattr(request, "resolver_match", None)
        session = getattr(request, "session", None)
        if match is not None and match.func in _passive_views and session is not None:
            if not session.modified:
                if session.accessed:
                    patch_vary_headers(response, ("Cookie",))
                return response
        return super().process_response(request, response)
