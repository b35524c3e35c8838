"""The metrics page (staff): the seed's six success metrics over a chosen window, with charts."""

from django.http import HttpRequest, HttpResponse

from .access import staff_only


@staff_only
def metrics_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("metrics")


@staff_only
def metric_chart(request: HttpRequest, metric: str) -> HttpResponse:
    return HttpResponse("<svg/>", content_type="image/svg+xml")
