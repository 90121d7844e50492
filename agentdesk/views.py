"""Sign-in, sign-out and the agent's desk."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from agentdesk.roles import agent_of, is_agent
from agentdesk.signin import LOCKED, ThrottledAuthenticationForm


class SignInView(auth_views.LoginView):
    """Everyone signs in here (admin's own sign-in page redirects here): throttled."""

    template_name = "registration/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, LOCKED):
            response.status_code = 429
        return response


class SignOutView(auth_views.LogoutView):
    pass


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Agents land on the desk, staff (supervisors, administrators) on admin."""
    if is_agent(request.user):
        return redirect("desk")
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "desk/no_role.html", status=403)


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    agent = agent_of(request.user)
    if agent is None:
        return render(request, "desk/no_role.html", status=403)
    return render(request, "desk/desk.html", {"agent": agent})
