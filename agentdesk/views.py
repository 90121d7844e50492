"""Sign-in, sign-out and the agent's desk."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from agentdesk.roles import agent_of, is_agent


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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
