"""The client's address: the one the audit trail records and django-axes locks sign-ins by.

Behind proxies the socket's address (REMOTE_ADDR) is the nearest proxy's. The address in
X-Forwarded-For is believed only when the request really came through the proxies of
TRUSTED_PROXIES (one entry per hop, the client's side first): the socket's address must be the
last of them, and each hop the proxies appended must match its entry. A request from anywhere
else is judged by its socket's address, whatever X-Forwarded-For it carries, so a client cannot
choose the address it is counted and recorded under.
"""

from django.conf import settings
from django.http import HttpRequest
from python_ipware import IpWare

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address as far as the trusted proxies vouch for it; None without one."""
    if request is None:
        return None
    peer = request.META.get("REMOTE_ADDR") or None
    forwarded = str(request.META.get(FORWARDED_FOR) or "").strip()
    if peer is None or not forwarded or not settings.TRUSTED_PROXIES:
        return peer
    # The chain as the last proxy saw it, with the proxy itself (the socket's peer) at its end:
    # python-ipware checks the trailing hops against TRUSTED_PROXIES and picks the one before.
    chain = {FORWARDED_FOR: f"{forwarded}, {peer}"}
    ipware = IpWare(precedence=(FORWARDED_FOR,), proxy_list=list(settings.TRUSTED_PROXIES))
    address, trusted = ipware.get_client_ip(chain, strict=False)
    if address is None or not trusted:
        return peer
    return str(address)
