"""The status poll's quick answer: "unchanged" (204) from one cache round trip, ahead of the
session, the user, the second factor and every other middleware (docs/security.md; its cost:
docs/benchmarks.md, `poll`).

Every open desk asks for its payment's status every second, and almost every answer is "the
state you show is still the state". The full answer reads the session, the user and the payment
(three queries and Django's whole middleware stack); this one reads two cache keys at once:

- the grant, `desk:poll-grant:<HMAC of the session key>` → the signed-in agent's id, written by
  the full status poll once it has checked the session, the user and their second factor, for
  GRANT_SECONDS, and deleted when they sign out;
- the payment's state and owner, `payments:state:<id>` → "<agent id>:<state>" (payments/
  state_cache.py), written by the state machine whenever a change commits.

Only when the grant is there, the agents match and the state is the one the page shows (`seen`)
does it answer 204. A state that has left the cache (it expires every 30 s) is read again with
one query for that agent's payment, without the session's and the user's. Anything else (no
cookie, no grant, the cache down, another state) goes down the stack to the full poll, which
answers as before and writes the grant again.
The grant names no payment: a session that is granted may hear "unchanged" about any payment of
its own agent, which is exactly what the full poll would tell it.

A grant never outlives its session's idle or absolute timeout (it is written for whichever comes
first, if sooner than GRANT_SECONDS). What it costs in security: a session ended another way (the
user deactivated, their password changed elsewhere) may go on hearing "unchanged" for up to
GRANT_SECONDS about a payment its page already shows, and learns nothing new; the first changed
state, or the grant's end, sends it the full way, which signs it out.

No library does this: it is a cache in front of one view, not a security control.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import DatabaseError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.crypto import salted_hmac

from agentdesk.desk import selectors
from agentdesk.shared.logcontext import NOT_ACCESS_LOGGED
from agentdesk.staff.sessions import seconds_left
from payments import state_cache
from payments.states import FINAL_STATES

log = logging.getLogger("agentdesk.desk")

# How long a session's check by the full poll stands for the quick one.
GRANT_SECONDS = 60
STATUS_VIEW = "desk:payment-status"


def grant_key(session_key: str) -> str:
    # An HMAC, so that the cache never holds a session key someone could sign in with.
    return "desk:poll-grant:" + salted_hmac("desk.quickpoll", session_key).hexdigest()


def grant(session: SessionBase, agent_id: int) -> None:
    """The full poll found `session` signed in as `agent_id`'s user: for GRANT_SECONDS, or
    until its idle or absolute timeout would end it, if sooner."""
    seconds = min(GRANT_SECONDS, seconds_left(session))
    if session.session_key and seconds > 0:
        try:
            cache.set(grant_key(session.session_key), agent_id, timeout=seconds)
        except Exception as error:  # the cache down: no quick answer, nothing else changes
            # Not a warning: every poll of every desk would repeat it (/readyz reports the cache).
            log.debug("status poll grant not written: %s", error)


@receiver(user_logged_out, dispatch_uid="desk_quickpoll_revoke")
def revoke(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """Signing out ends the grant at once (sent before the session is flushed)."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        try:
            cache.delete(grant_key(session.session_key))
        except Exception as error:  # the cache down: no grant can be read either
            log.warning("status poll grant not deleted at sign-out: %s", error)


class UnchangedStatusMiddleware:
    """Answers a status poll whose payment has not changed with 204, from the cache alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path_info.endswith("/status/"):
            answer = self.unchanged(request)
            if answer is not None:
                return answer
        return self.get_response(request)

    def unchanged(self, request: HttpRequest) -> HttpResponse | None:
        seen = request.GET.get("seen")
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not seen or seen in FINAL_STATES or not session_key:
            return None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        if match.view_name != STATUS_VIEW:
            return None
        grant, state = grant_key(session_key), state_cache.key(match.kwargs["payment_id"])
        try:
            found = cache.get_many([grant, state])
        except Exception:  # the cache down: the full poll answers
            return None
        agent_id = found.get(grant)
        if agent_id is None:
            return None
        known = found.get(state) or self.state_from_database(match.kwargs["payment_id"], agent_id)
        if known != state_cache.value(agent_id, seen):
            return None
        request.resolver_match = match  # timed as the view it stands for (agentdesk/metrics.py)
        request.META[NOT_ACCESS_LOGGED] = True  # nor written to the access log (gunicorn.py)
        response = HttpResponse(status=204)
        add_never_cache_headers(response)
        patch_vary_headers(response, ("Cookie",))
        return response

    @staticmethod
    def state_from_database(payment_id: int, agent_id: int) -> str | None:
        """A granted session's payment whose state has left the cache (it expires every
        state_cache.TIMEOUT): one query by the payment's key, for that agent's payment only,
        rather than the session's, the user's and the state's."""
        try:
            current = selectors.payment_state_of_agent(payment_id, agent_id)
        except DatabaseError:  # the full poll answers, and says what is wrong
            return None
        if current is None:
            return None
        state_cache.remember(payment_id, agent_id, current)
        return state_cache.value(agent_id, current)
