from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from activity.log import Kind, record

from . import api_tokens, confirmation
from .forms import EmailAuthenticationForm, ProfileForm, SignupForm
from .models import User


def safe_next(request) -> str:
    """The `next` page of the request (POST before GET), only when it is on this site; else ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def signup(request):
    # Where the visitor was going (e.g. "Alert me on this search" → the pre-filled alert form).
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "listings:browse")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():  # the account and its sign-up event, or neither
            user = form.save()
            record(Kind.USER_SIGNED_UP, user_id=user.pk, now=user.date_joined)
        confirmation.send_after_commit(user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            f"Welcome to Deal Alerts. We are sending a link to {user.email}: follow it to confirm your address, "
            "and your alerts can reach you by email.",
        )
        return redirect(next_url or "listings:browse")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


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


@require_http_methods(["GET", "POST"])
def confirm_email(request, token: str):
    """The link from the confirmation email; it needs no session (the signed token is the proof).

    An expired link still names its user, so its page can send that user a new link (POST), rate-limited.
    """
    checked = confirmation.confirm(token)
    if checked.user is not None:
        return render(request, "accounts/confirm_email.html", {"confirmed": checked.user})
    context = {"problem": checked.problem, "token": token}
    owner = User.objects.filter(pk=checked.expired_user_id).first() if checked.expired_user_id else None
    if owner is not None and owner.email_confirmed_at is not None:  # nothing wrong: nothing left to do
        return render(request, "accounts/confirm_email.html", {**context, "already_confirmed": owner})
    if request.method == "POST" and owner is not None:
        context["resend"] = confirmation.resend(owner)
    return render(request, "accounts/confirm_email.html", context, status=400)


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


@login_required
@require_POST
def resend_confirmation(request):
    """ "Resend confirmation email" on the profile and settings pages: back where it was asked, with a message."""
    back = safe_next(request) or "accounts:profile"
    result = confirmation.resend(request.user)
    if result.wait:
        messages.error(request, result.message)
    else:
        messages.success(request, result.message)
    return redirect(back)
