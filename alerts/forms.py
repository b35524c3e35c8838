"""The rule form of the "My alerts" pages: between HTML form fields and `DealAlertRuleSerializer`'s data.

There is no second validation here: `RuleForm.serializer_data()` turns what the browser sent into the
plain dict the API would receive, and the serializer decides. `RuleForm` also remembers exactly what
the user typed, so an invalid form comes back as it was sent, with the serializer's errors beside it.

Choices this form makes:
- keywords and excluded keywords are comma-separated ("thinkpad, gaming pc" is two keywords, the
  second a phrase of two adjacent words);
- the deal-score slider applies only while "Only deals scoring at least" is ticked (a range input
  cannot be empty, and 0 is a real minimum: it leaves out unscored listings);
- prefilled from a browse search, the whole `q` becomes the keywords text as typed, so a query of
  several words is one phrase keyword, not several alternatives.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from listings.formatting import deal_score, money
from listings.models import Category, Condition
from notifications.models import CHANNEL_LABELS, CHANNELS

from .api import DealAlertRuleSerializer
from .models import DealAlertRule
from .services import DEFAULT_RADIUS_MI

# The fields a user writes: the serializer's, less the read-only ones.
FIELDS = tuple(f for f in DealAlertRuleSerializer.Meta.fields if f not in DealAlertRuleSerializer.Meta.read_only_fields)
LABELS = {
    "name": "Name",
    "keywords": "Keywords",
    "exclude_keywords": "Excluded keywords",
    "categories": "Categories",
    "condition": "Condition",
    "min_price": "Min price",
    "max_price": "Max price",
    "location": "ZIP code",
    "radius_mi": "Within (miles)",
    "min_deal_score": "Minimum deal score",
    "notification_channels": "Notify me by",
    "enabled": "Enabled",
}
DEFAULT_SLIDER = "0.50"


def split_keywords(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number_text(value) -> str:
    """A stored number as a person would type it: 500 rather than 500.00, 0.7 rather than 0.7000."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():  # "sNaN" from a link: shown as sent, and the serializer says why on save
        return str(value)
    return f"{number.normalize():f}" if number == number.to_integral() else f"{number:f}".rstrip("0")


@dataclass
class RuleForm:
    """The form's values as text, the way the template shows them, plus the serializer's errors."""

    name: str = ""
    keywords: str = ""
    exclude_keywords: str = ""
    categories: list[str] = field(default_factory=list)
    condition: str = ""
    min_price: str = ""
    max_price: str = ""
    location: str = ""
    radius_mi: str = ""
    has_min_deal_score: bool = False
    min_deal_score: str = DEFAULT_SLIDER
    notification_channels: list[str] = field(default_factory=list)
    enabled: bool = True
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_post(cls, post: QueryDict) -> "RuleForm":
        return cls(
            name=post.get("name", ""),
            keywords=post.get("keywords", ""),
            exclude_keywords=post.get("exclude_keywords", ""),
            categories=post.getlist("categories"),
            condition=post.get("condition", ""),
            min_price=post.get("min_price", "").strip(),
            max_price=post.get("max_price", "").strip(),
            location=post.get("location", "").strip(),
            radius_mi=post.get("radius_mi", "").strip(),
            has_min_deal_score=bool(post.get("has_min_deal_score")),
            min_deal_score=post.get("min_deal_score", "").strip() or DEFAULT_SLIDER,
            notification_channels=post.getlist("notification_channels"),
            enabled=bool(post.get("enabled")),
        )

    @classmethod
    def from_rule(cls, rule: DealAlertRule) -> "RuleForm":
        return cls(
            name=rule.name,
            keywords=", ".join(rule.keywords),
            exclude_keywords=", ".join(rule.exclude_keywords),
            categories=list(rule.categories),
            condition=rule.condition,
            min_price=_number_text(rule.min_price),
            max_price=_number_text(rule.max_price),
            location=rule.location,
            radius_mi=_number_text(rule.radius_mi),
            has_min_deal_score=rule.min_deal_score is not None,
            min_deal_score=DEFAULT_SLIDER if rule.min_deal_score is None else _number_text(rule.min_deal_score),
            notification_channels=list(rule.notification_channels),
            enabled=rule.enabled,
        )

    @classmethod
    def from_search(cls, params: QueryDict) -> "RuleForm":
        """A new rule from the browse page's filters (listings.filters.ListingFilter's names)."""
        score = params.get("min_deal_score", "").strip()
        form = cls(
            keywords=params.get("q", "").strip(),
            categories=[params["category"]] if params.get("category") else [],
            condition=params.get("condition", ""),
            min_price=_number_text(params.get("min_price", "").strip()),
            max_price=_number_text(params.get("max_price", "").strip()),
            location=params.get("zip", "").strip(),
            radius_mi=_number_text(params.get("radius_mi", "").strip()),
            has_min_deal_score=bool(score),
            min_deal_score=score or DEFAULT_SLIDER,
        )
        form.name = form.suggested_name()
        return form

    def suggested_name(self) -> str:
        """A readable summary such as "thinkpad under $500" or "Bikes near 94103"."""
        if self.keywords:
            subject = self.keywords
        elif self.categories:
            subject = Category.objects.filter(slug=self.categories[0]).values_list("name", flat=True).first() or ""
        else:
            subject = ""
        subject = subject or "Deals"
        parts = [subject]
        if self.condition in Condition.values:
            parts.append(f"in {Condition(self.condition).label.lower()} condition")
        if self.min_price and self.max_price:
            parts.append(f"${self.min_price}–${self.max_price}")
        elif self.max_price:
            parts.append(f"under ${self.max_price}")
        elif self.min_price:
            parts.append(f"over ${self.min_price}")
        if self.location:
            parts.append(f"near {self.location}")
        return " ".join(parts)[:100]

    def serializer_data(self) -> dict:
        """What `DealAlertRuleSerializer` receives: the same shape as a JSON body of the API."""
        return {
            "name": self.name,
            "keywords": split_keywords(self.keywords),
            "exclude_keywords": split_keywords(self.exclude_keywords),
            "categories": self.categories,
            "condition": self.condition,
            "min_price": self.min_price or None,
            "max_price": self.max_price or None,
            "location": self.location,
            "radius_mi": self.radius_mi or None,
            "min_deal_score": self.min_deal_score if self.has_min_deal_score else None,
            "notification_channels": self.notification_channels,
            "enabled": self.enabled,
        }

    def set_errors(self, serializer_errors: dict) -> None:
        self.errors = {name: flatten(errors) for name, errors in serializer_errors.items()}

    @property
    def score_label(self) -> str:
        """The slider's value as its label shows it (0.6 -> "60%"); the serializer gets the value as sent."""
        try:
            value = float(self.min_deal_score)
        except ValueError:
            return self.min_deal_score
        # A prefill such as "sNaN" or "1e999" parses but is no score: show it as typed for the form's error.
        return deal_score(value) if 0 <= value <= 1 else self.min_deal_score

    @property
    def labelled_errors(self) -> list[tuple[str, str]]:
        """Every error with the label of its field, for the "Test before saving" panel."""
        return [
            (LABELS.get(name, "" if name == "non_field_errors" else name), error)
            for name, errors in self.errors.items()
            for error in errors
        ]

    @property
    def top_errors(self) -> list[str]:
        """Errors with no field of their own on the page: the rule as a whole, or an unexpected field."""
        found = list(self.errors.get("non_field_errors", []))
        for name, errors in self.errors.items():
            if name != "non_field_errors" and name not in FIELDS:
                found += [f"{name}: {error}" for error in errors]
        return found


def error_sentences(serializer_errors: dict) -> list[str]:
    """A serializer's errors as sentences that name each field by its label ("Radius: …")."""
    return [
        f"{label}: {message}" if (label := LABELS.get(name, "" if name == "non_field_errors" else name)) else message
        for name, errors in serializer_errors.items()
        for message in flatten(errors)
    ]


def flatten(errors) -> list[str]:
    """DRF errors as a list of sentences; a list field's errors come keyed by item ({0: [...]})."""
    if isinstance(errors, dict):
        return [f"Item {int(key) + 1}: {message}" for key, value in errors.items() for message in flatten(value)]
    if isinstance(errors, list | tuple):
        return [message for error in errors for message in flatten(error)]
    return [str(errors)]


def category_names() -> dict[str, str]:
    return dict(Category.objects.values_list("slug", "name"))


def criteria_summary(rule: DealAlertRule, names: dict[str, str]) -> list[str]:
    """A rule's criteria in words, one phrase each, for the list of rules."""
    parts = []
    if rule.keywords:
        parts.append("Mentions " + " or ".join(f"“{k}”" for k in rule.keywords))
    if rule.exclude_keywords:
        parts.append("not " + " or ".join(f"“{k}”" for k in rule.exclude_keywords))
    if rule.categories:
        parts.append(", ".join(names.get(slug, slug) for slug in rule.categories))
    if rule.condition:
        parts.append(dict(Condition.choices).get(rule.condition, rule.condition))
    if rule.min_price is not None and rule.max_price is not None:
        parts.append(f"{money(rule.min_price)}–{money(rule.max_price)}")
    elif rule.max_price is not None:
        parts.append(f"at most {money(rule.max_price)}")
    elif rule.min_price is not None:
        parts.append(f"at least {money(rule.min_price)}")
    if rule.location or rule.radius_mi:
        parts.append(f"within {rule.radius_mi or DEFAULT_RADIUS_MI} mi of {rule.location or 'your home ZIP'}")
    if rule.min_deal_score is not None:
        parts.append(f"deal score ≥ {deal_score(rule.min_deal_score)}")
    return parts


def channels_summary(rule: DealAlertRule) -> str:
    if not rule.notification_channels:
        return "your preferred channels"
    return ", ".join(CHANNEL_LABELS.get(c, c) for c in rule.notification_channels)


CHANNEL_CHOICES = [(c, CHANNEL_LABELS[c]) for c in CHANNELS]
