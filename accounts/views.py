from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import api_tokens
from .forms import EmailAuthenticationForm, ProfileForm, SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("listings:browse")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Deal Alerts. Your account is ready.")
        return redirect("listings:browse")
    return render(request, "accounts/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:  # refused by the sign-in limits: the page says why, the status too
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


class LogoutView(auth_views.LogoutView):
    pass


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


def _api_token_response(request, new_key: str | None = None):
    """The profile's API token section; the whole profile page when the request is not htmx."""
    if request.htmx:
        return render(request, "accounts/_api_token.html", {"new_key": new_key})
    return render(request, "accounts/profile.html", {"form": ProfileForm(instance=request.user), "new_key": new_key})


@login_required
@require_POST
def api_token_create(request):
    """Create (or replace) the API token; its key is shown this once."""
    token = api_tokens.create_api_token(request.user)
    return _api_token_response(request, new_key=token.key)


@login_required
@require_POST
def api_token_revoke(request):
    """Revoke the API token, once confirmed: htmx asks in a dialog, without JavaScript a page asks."""
    if request.POST.get("confirm") != "yes":
        return render(request, "accounts/api_token_revoke.html")
    api_tokens.revoke_api_token(request.user)
    if request.htmx:
        return _api_token_response(request)
    messages.success(request, "API token revoked. Apps using it can no longer sign in as you.")
    return redirect("accounts:profile")
