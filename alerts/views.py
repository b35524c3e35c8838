"""The "My alerts" pages: thin views, form -> `DealAlertRuleSerializer` -> `alerts.services` -> template or partial.

The serializer is the API's; validating through it here means the page and the API cannot disagree about
what a valid rule is. Another user's rule is a 404 everywhere, as in the API.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from listings.models import Condition
from listings.selectors import categories_in_tree_order
from notifications.services import channel_choice, channel_preferences

from . import services
from .api import DealAlertRuleSerializer
from .forms import CHANNEL_CHOICES, RuleForm, category_names, channels_summary, criteria_summary
from .models import DealAlertRule


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
        "category_options": [(c.slug, "\u2003" * depth + c.name) for c, depth in categories_in_tree_order()],
        "condition_options": Condition.choices,
        # Each channel with why it cannot be used now ("not set up"), so the form warns before saving.
        "channel_options": [(c, label, prefs.unusable_because(c)) for c, label in CHANNEL_CHOICES],
        "default_radius": services.DEFAULT_RADIUS_MI,
    }
    return render(request, "alerts/rule_form.html", context)


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(DealAlertRule.objects.filter(user=request.user))
    return render(request, "alerts/rules.html", {"rows": rule_rows(rules)})


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
    if request.htmx:
        return render(request, "alerts/_rule_row.html", {"row": rule_rows([rule])[0]})
    messages.success(request, f"Alert “{rule.name}” {'resumed' if rule.enabled else 'paused'}.")
    return redirect("alerts:rules")


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = users_rule(request, rule_id)
    services.delete_rule(rule)
    if not request.htmx:
        messages.success(request, f"Alert “{rule.name}” deleted.")
        return redirect("alerts:rules")
    if DealAlertRule.objects.filter(user=request.user).exists():
        return HttpResponse("")  # htmx swaps the row for nothing: it disappears
    return retarget(render(request, "alerts/_rules.html", {"rows": []}), "#rules")  # the last one: the empty state
