from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from agentdesk.desk import views as desk_views
from agentdesk.staff import views as staff_views
from payments.admin.dashboard import dashboard_view


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on pages without an icon link (admin's)."""

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("favicon.svg")  # at request time: the manifest may name a hashed file


urlpatterns = [
    path("", desk_views.home, name="home"),
    path("desk/", desk_views.desk, name="desk"),
    path("desk/", include("agentdesk.desk.urls")),
    path("login/", staff_views.SignInView.as_view(), name="login"),
    path("login/code/", staff_views.verify, name="second-factor"),
    path("login/enrol/", staff_views.enrol, name="second-factor-enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("payments/", include("payments.urls")),
    path("favicon.ico", FaviconView.as_view()),
]

if settings.VCC_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("payments.vcc.sandbox.urls")))
