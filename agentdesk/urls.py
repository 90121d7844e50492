from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from agentdesk.desk import views as desk_views
from agentdesk.staff.signin import ThrottledAuthenticationForm
from agentdesk.staff.views import SignInView


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on pages without an icon link (admin's)."""

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("favicon.svg")  # at request time: the manifest may name a hashed file


# Admin's own sign-in page counts and locks failures like ours (agentdesk/staff/signin.py).
admin.site.login_form = ThrottledAuthenticationForm

urlpatterns = [
    path("", desk_views.home, name="home"),
    path("desk/", desk_views.desk, name="desk"),
    path("desk/", include("agentdesk.desk.urls")),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("payments/", include("payments.urls")),
    path("favicon.ico", FaviconView.as_view()),
]

if settings.VCC_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("payments.vcc.sandbox.urls")))
