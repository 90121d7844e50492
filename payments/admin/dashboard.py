"""Admin → Dashboard (`/admin/dashboard/`): the supervisors' live picture (payments/dashboard.py),
for supervisors and administrators (whoever may view payments). htmx refreshes the page's
body every REFRESH_SECONDS with the fragment alone."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from payments.dashboard import dashboard

REFRESH_SECONDS = 10


def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("payments.view_payment"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "board": dashboard(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    template = "admin/payments/dashboard.html"
    if getattr(request, "htmx", False):
        template += "#board"
    response = TemplateResponse(request, template, context)
    response["Cache-Control"] = "no-store"
    return response
