"""The "My alerts" pages: thin views, form -> `DealAlertRuleSerializer` -> `alerts.services` -> template or partial.

The serializer is the API's; validating through it here means the page and the API cannot disagree about
what a valid rule is. Another user's rule is a 404 everywhere, as in the API.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from dealalerts.undo import with_notice
from listings.models import Condition
from notifications.preferences import channel_choice, channel_preferences

from . import services, undo
from .api import DealAlertRuleSerializer
from .forms import CHANNEL_CHOICES, RuleForm, category_names, channels_summary, criteria_summary, error_sentences
from .models import DealAlertRule

DELETED_KEY = "alerts.deleted"  # session: (name, undo token) of a rule deleted without JavaScript


@dataclass(frozen=True)
class RuleRow:
    rule: DealAlertRule
    criteria: list[str]
    channels: str
    recent_matches: int


def rule_rows(rules: list[DealAlertRule]) -> list[RuleRow]:
    """What a row of "My alerts" shows; a fixed number of queries however many rules."""
    if not rules:
        return []
    counts = services.recent_match_counts(rules)
    names = category_names()
    return [
        RuleRow(rule, criteria_summary(rule, names), channels_summary(rule), counts.get(rule.id, 0)) for rule in rules
    ]


def say_saved(request: HttpRequest, rule: DealAlertRule, otherwise: str = "") -> None:
    """Saved, and where its deals will go when that is not what the rule asks (the policy's own answer);
    a warning when nothing can reach the user."""
    choice = channel_choice(request.user, tuple(rule.notification_channels))
    text = " ".join(part for part in (f"Alert “{rule.name}” saved.", choice.sentence or otherwise) if part)
    messages.add_message(request, messages.SUCCESS if choice.channels else messages.WARNING, text)


def users_rule(request: HttpRequest, rule_id: int) -> DealAlertRule:
    return get_object_or_404(DealAlertRule, pk=rule_id, user=request.user)


def validate(request: HttpRequest, form: RuleForm, instance: DealAlertRule | None = None):
    """The serializer, validated, or None with the errors put on the form."""
    serializer = DealAlertRuleSerializer(data=form.serializer_data(), instance=instance, context={"request": request})
    if serializer.is_valid():
        return serializer
    form.set_errors(serializer.errors)
    return None


def render_form(request: HttpRequest, form: RuleForm, rule: DealAlertRule | None) -> HttpResponse:
    prefs = channel_preferences(request.user)
    context = {
        "form": form,
        "rule": rule,
        "condition_options": Condition.choices,
        # Each channel with why it cannot be used now ("not set up"), so the form warns before saving.
        "channel_options": [(c, label, prefs.unusable_because(c)) for c, label in CHANNEL_CHOICES],
        "default_radius": services.DEFAULT_RADIUS_MI,
    }
    return render(request, "alerts/rule_form.html", context)


def deleted_notice(name: str, token: str) -> undo.Notice:
    return undo.Notice(f"Deleted “{name}”.", reverse("alerts:restore"), token, "#rules")


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(DealAlertRule.objects.filter(user=request.user))
    context = {"rows": rule_rows(rules)}
    if deleted := request.session.pop(DELETED_KEY, None):  # a delete without JavaScript: offer Undo here
        context["notice"] = deleted_notice(*deleted)
    return render(request, "alerts/rules.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = RuleForm.from_search(request.GET) if request.GET else RuleForm()
        return render_form(request, form, None)
    form = RuleForm.from_post(request.POST)
    if serializer := validate(request, form):
        try:
            rule = services.create_rule(request.user, **serializer.validated_data)
        except services.RuleLimitReached as error:
            form.errors = {"non_field_errors": [str(error)]}
        else:
            say_saved(request, rule, "We will tell you when a listing matches it.")
            return redirect("alerts:rules")
    return render_form(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = users_rule(request, rule_id)
    if request.method == "GET":
        return render_form(request, RuleForm.from_rule(rule), rule)
    form = RuleForm.from_post(request.POST)
    if serializer := validate(request, form, instance=rule):
        services.update_rule(rule, **serializer.validated_data)
        say_saved(request, rule)
        return redirect("alerts:rules")
    return render_form(request, form, rule)


@login_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """The "Test before saving" button: the backtest of the rule as the form stands, nothing saved."""
    form = RuleForm.from_post(request.POST)
    if serializer := validate(request, form):
        unsaved = DealAlertRule(user=request.user, **serializer.validated_data)
        return render(request, "alerts/_backtest.html", {"result": services.backtest(unsaved)})
    return render(request, "alerts/_backtest.html", {"form": form})


@login_required
@require_GET
def rule_test(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = users_rule(request, rule_id)
    context = {"rule": rule, "result": services.backtest(rule)}
    return render(request, "alerts/_backtest.html" if request.htmx else "alerts/backtest.html", context)


@login_required
@require_POST
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Pause or resume; the form says which ("enabled" = 1 or 0), so a double click does not undo itself."""
    rule = services.set_enabled(users_rule(request, rule_id), request.POST.get("enabled") == "1")
    said = f"{'Resumed' if rule.enabled else 'Paused'} “{rule.name}”."
    if request.htmx:
        response = render(request, "alerts/_rule_row.html", {"row": rule_rows([rule])[0]})
        return with_notice(response, request, undo.Notice(said))
    messages.success(request, said)
    return redirect("alerts:rules")


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = users_rule(request, rule_id)
    token = undo.token_for(rule)
    services.delete_rule(rule)
    if not request.htmx:
        request.session[DELETED_KEY] = (rule.name, token)
        return redirect("alerts:rules")
    if DealAlertRule.objects.filter(user=request.user).exists():
        response = HttpResponse("")  # htmx swaps the row for nothing: it disappears
    else:  # the last one: the empty state
        response = retarget(render(request, "alerts/_rules.html", {"rows": []}), "#rules")
    return with_notice(response, request, deleted_notice(rule.name, token))


@login_required
@require_POST
def rule_restore(request: HttpRequest) -> HttpResponse:
    """Undo a delete: the rule again, from the signed copy of its fields, validated as a new rule."""
    found = undo.rule_data(request.POST.get("token", ""), request.user.pk)
    if found is None:
        said = "That alert can no longer be restored."
    else:
        undo_id, data = found
        serializer = DealAlertRuleSerializer(data=data, context={"request": request})
        if not serializer.is_valid():
            said = "That alert can no longer be restored: " + "; ".join(error_sentences(serializer.errors))
        elif not undo.claim(request.user.pk, undo_id):
            said = f"“{data['name']}” is already restored."
        else:
            try:
                rule = services.create_rule(request.user, **serializer.validated_data)
            except services.RuleLimitReached as error:
                undo.release(request.user.pk, undo_id)
                said = str(error)
            else:
                said = f"Restored “{rule.name}”."
    if not request.htmx:
        messages.info(request, said)
        return redirect("alerts:rules")
    rows = rule_rows(list(DealAlertRule.objects.filter(user=request.user)))
    return with_notice(render(request, "alerts/_rules.html", {"rows": rows}), request, undo.Notice(said))
