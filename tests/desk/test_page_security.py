"""The desk page's security headers and script list, held fixed (SAQ A: the page that frames
the provider's payment page resists script injection): a strict CSP that allows exactly the
configured providers' origins in frame-src and form-action, nobody frames us, only our own
scripts (each with the CSP nonce), no inline script, handler or style, nothing cached, and a
Permissions-Policy that denies every browser feature the desk does not use."""

import re

import pytest
from django.test import Client
from django.test.client import RequestFactory

from agentdesk.desk.viewmodels import provider_problem
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.staff.test_settings import read_settings

pytestmark = pytest.mark.django_db

SCRIPTS = ["/static/django_htmx/htmx-2.min.js", "/static/desk.js"]


def policy(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: sorted(values) for name, *values in directives}


def test_the_desk_page_headers_and_scripts_are_fixed(agent_client: Client) -> None:
    response = agent_client.get("/desk/")
    csp = policy(response.headers["Content-Security-Policy"])
    nonce = csp["script-src"][0].removeprefix("'nonce-").removesuffix("'")
    assert csp == {
        "default-src": ["'self'"],
        "script-src": [f"'nonce-{nonce}'", "'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Permissions-Policy"] == (
        "accelerometer=(), autoplay=(), bluetooth=(), camera=(), display-capture=(), "
        "geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), "
        "payment=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"
    )
    assert "no-store" in response.headers["Cache-Control"]
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert [re.search(r'src="([^"]+)"', s).group(1) for s in scripts] == SCRIPTS
    assert all(f'nonce="{nonce}"' in s for s in scripts)


@pytest.mark.parametrize("page", ["desk", "caller", "order", "manual entry", "details", "sign-in"])
def test_no_page_carries_inline_script_handlers_or_styles(agent_client: Client, page: str) -> None:
    builders.flow()
    order = builders.order()
    url = {
        "desk": "/desk/",
        "caller": f"/desk/callers/{order.customer_id}/",
        "order": f"/desk/orders/{order.pk}/",
        "manual entry": "/desk/callers/new/",
        "details": f"/desk/orders/{order.pk}/details/",
        "sign-in": "/login/",
    }[page]
    client = Client() if page == "sign-in" else agent_client
    html = client.get(url).content.decode()
    assert re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == []
    assert re.findall(r"\sstyle\s*=", html) == []
    assert "javascript:" not in html


def test_fragments_are_not_cached_either(agent_client: Client) -> None:
    order = builders.order()
    response = agent_client.get(f"/desk/orders/{order.pk}/", **WORKSPACE)
    assert "no-store" in response.headers["Cache-Control"]


def test_configured_provider_origins_are_allowed_to_be_framed_and_posted_to(tmp_path) -> None:
    origins = "https://euw2.ip.pcipal.com,https://use1.ip.pcipal.com"
    values = read_settings(tmp_path, "CONTENT_SECURITY_POLICY", VCC_PROVIDER_ORIGINS=origins)
    directives = values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    expected = ["'self'", "https://euw2.ip.pcipal.com", "https://use1.ip.pcipal.com"]
    assert directives["frame-src"] == expected
    assert directives["form-action"] == expected
    assert directives["frame-ancestors"] == ["'none'"]


def test_a_provider_origin_the_policy_does_not_allow_is_named(settings) -> None:
    own = RequestFactory().get("/desk/").build_absolute_uri("/")
    settings.VCC_PROVIDER_ORIGINS = ["https://euw2.ip.pcipal.com"]
    assert provider_problem("http://testserver/sandbox/pci/view/1/framed", own) == ""
    assert provider_problem("https://EUW2.ip.pcipal.com/view/abc/framed", own) == ""
    problem = provider_problem("https://evil.example.com/view/abc/framed", own)
    assert "https://evil.example.com" in problem and "VCC_PROVIDER_ORIGINS" in problem
