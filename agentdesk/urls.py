from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from agentdesk import views

urlpatterns = [
    path("", views.home, name="home"),
    path("desk/", views.desk, name="desk"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("payments/", include("payments.urls")),
]

if settings.VCC_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("payments.vcc.sandbox.urls")))
