"""How prices and deal scores read, the same on every page and in every email.

`money(125)` is "$125", `money(Decimal("125.5"))` "$125.50" (cents only when there are some);
`deal_score(0.89)` is "89%". Pages use them as Django template filters (`{% load deal_format %}`),
emails as Jinja filters of the same names (`notifications.emails.environment`).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def money(amount: Decimal | float | int | str | None, currency: str = "USD") -> str:
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def deal_score(score: float | Decimal | None) -> str:
    if score is None or score == "":
        return ""
    return f"{_percent(score)}%"


def _percent(score: float | Decimal) -> Decimal:
    """The score as the whole percent pages and emails show; its band is read from this too."""
    return (Decimal(str(score)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ScoreBand:
    """A score's band: a CSS class for its colour and words that say the same without colour."""

    css: str
    label: str


# At the median price a listing scores 0.50 and 30% below it 0.80 (listings.scoring).
SCORE_BANDS = (
    (0.8, ScoreBand("strong", "great deal")),
    (0.6, ScoreBand("good", "good deal")),
    (0.4, ScoreBand("fair", "fair price")),
)
LOW_BAND = ScoreBand("low", "high price")


def score_band(score: float | None) -> ScoreBand | None:
    if score is None:
        return None
    # The band follows the percent shown, so 0.796 ("80%") is a great deal, as 80% is.
    percent = _percent(score)
    return next((band for floor, band in SCORE_BANDS if percent >= Decimal(str(floor)) * 100), LOW_BAND)
