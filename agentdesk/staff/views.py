"""Signing in: the password (/login/, throttled by django-axes), then the second factor when
the user needs one (agentdesk/staff/second_factor.py): enrolment the first time, a code after."""

import segno
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters

from agentdesk.staff import second_factor


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url("home")


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


@sensitive_post_parameters("code")
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """/login/code/: an authenticator code or a recovery code verifies this session."""
    user = _signed_in_user(request)
    if second_factor.is_verified(request):
        return HttpResponseRedirect(_next(request))
    if second_factor.authenticator_of(user) is None:
        return HttpResponseRedirect(reverse("second-factor-enrol") + f"?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if second_factor.verify(request=request, user=user, code=form.cleaned_data["code"]):
            return HttpResponseRedirect(_next(request))
        form.add_error(
            "code",
            "That code is wrong, expired or used already. Wait a few seconds, then try the "
            "next code your app shows, or a recovery code.",
        )
    return render(
        request, "registration/second_factor.html", {"form": form, "next": _next(request)}
    )


@sensitive_post_parameters("code")
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """/login/enrol/: set up an authenticator app (QR code or the secret typed in), confirmed by
    one of its codes; then the recovery codes, shown once."""
    user = _signed_in_user(request)
    if second_factor.authenticator_of(user) is not None:
        return HttpResponseRedirect(reverse("second-factor") + f"?{request.GET.urlencode()}")
    device = second_factor.pending_authenticator(user)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        codes = second_factor.confirm_enrolment(
            request=request, user=user, device=device, code=form.cleaned_data["code"]
        )
        if codes is not None:
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "next": _next(request)},
            )
        form.add_error(
            "code",
            "That code is wrong or expired: wait a few seconds, then type the one your app "
            "shows now.",
        )
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "next": _next(request),
        "qr": qr.svg_data_uri(scale=5, border=2),
        "secret": second_factor.secret_text(device),
    }
    return render(request, "registration/enrol.html", context)
