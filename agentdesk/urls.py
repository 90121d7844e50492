from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from agentdesk import views
from agentdesk.signin import ThrottledAuthenticationForm

# Admin's own sign-in page counts and locks failures like ours (agentdesk/signin.py).
admin.site.login_form = ThrottledAuthenticationForm

desk_patterns = [
    path("search/", views.search, name="search"),
    path("callers/open/", views.open_caller_view, name="open-caller"),
    path("callers/new/", views.new_caller, name="new-caller"),
    path("callers/<int:customer_id>/", views.caller, name="caller"),
    path("callers/<int:customer_id>/orders/", views.new_order, name="new-order"),
    path("address-fields/", views.address_fields, name="address-fields"),
    path("orders/<int:order_id>/", views.order_view, name="order"),
    path("orders/<int:order_id>/details/", views.details, name="details"),
    path("orders/<int:order_id>/start/", views.start, name="start"),
    path("payments/<int:payment_id>/status/", views.payment_status, name="payment-status"),
    path("payments/<int:payment_id>/retry/", views.retry, name="retry"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("desk/", views.desk, name="desk"),
    path("desk/", include((desk_patterns, "desk"))),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("payments/", include("payments.urls")),
]

if settings.VCC_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("payments.vcc.sandbox.urls")))
