from datetime import timedelta

from django import template

from metrics import operations

register = template.Library()


@register.filter
def duration(span: timedelta | None) -> str:
    """A span in short words: "45 s", "14 min", "3 h 5 min"; a dash when there is none."""
    return operations.duration(span)


@register.filter
def rate_percent(rate: float | None) -> str:
    """0.0125 → "1.25%"; a dash when nothing was sent."""
    return "—" if rate is None else f"{rate:.2%}"


@register.filter
def thousands(count: int) -> str:
    """1240 → "1,240", as the warnings write it."""
    return f"{count:,}"
