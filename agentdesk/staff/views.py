"""Signing in (throttled: agentdesk/staff/signin.py); admin's own sign-in page uses the same
form (agentdesk/urls.py)."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponse

from agentdesk.staff.signin import LOCKED, ThrottledAuthenticationForm


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, LOCKED):
            response.status_code = 429
        return response
