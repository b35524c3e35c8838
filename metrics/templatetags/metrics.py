from django import template

from metrics.charts import format_value

register = template.Library()


@register.filter
def metric_value(value: float | None, fmt: str) -> str:
    return format_value(value, fmt)


@register.filter
def signed_percent(change: float) -> str:
    """+12% / −8% (a true minus sign)."""
    return f"+{change:.0%}" if change >= 0 else f"−{abs(change):.0%}"
