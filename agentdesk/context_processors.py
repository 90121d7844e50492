from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, object]:
    """`csp_nonce` for our inline scripts and django-htmx's script tags (django-csp's nonce)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
