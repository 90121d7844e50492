from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from agentdesk import views

urlpatterns = [
    path("", views.home, name="home"),
    path("desk/", views.desk, name="desk"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    # One sign-in page for everyone, so admin's is throttled too (the query string keeps ?next=).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
]

if settings.VCC_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("payments.vcc.sandbox.urls")))
