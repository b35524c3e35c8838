"""The metrics page (staff): the seed's six success metrics over a chosen window, with charts."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import charts, summary
from .access import staff_only


def window_days(request: HttpRequest) -> tuple[int, str]:
    """The window asked for (7, 30 or 90 days), and an error naming `days` when it is none of them."""
    raw = request.GET.get("days", "")
    if raw == "":
        return summary.DEFAULT_WINDOW, ""
    if raw in {str(days) for days in summary.WINDOWS}:
        return int(raw), ""
    return summary.DEFAULT_WINDOW, "days: choose 7, 30 or 90."


@require_GET
@staff_only
def metrics_page(request: HttpRequest) -> HttpResponse:
    days, error = window_days(request)
    now = timezone.now()
    metrics, rows, window = summary.metrics_for(days, now)
    context = {
        "metrics": metrics,
        "window": window,
        "windows": summary.WINDOWS,
        "rolled_up_at": rows.rolled_up_at,
        "error": error,
    }
    return render(request, "metrics/page.html", context, status=400 if error else 200)


@require_GET
@staff_only
def metric_chart(request: HttpRequest, metric: str) -> HttpResponse:
    days, error = window_days(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain")
    metrics, _, _ = summary.metrics_for(days, timezone.now())
    chosen = next((m for m in metrics if m.slug == metric), None)
    if chosen is None:
        raise Http404("No such metric.")
    svg = charts.line_chart(chosen.series, chosen.chart_target, chosen.fmt, f"{chosen.name}, last {days} days")
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"  # the roll-up changes once a minute
    return response
