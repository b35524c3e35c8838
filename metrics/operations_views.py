"""The operations page (staff): is anything wrong right now? It polls its own panel every 10 s."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .access import staff_only
from .operations import read_operations


@require_GET
@staff_only
def operations_page(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/operations.html", {"ops": read_operations(timezone.now())})


@require_GET
@staff_only
def operations_panel(request: HttpRequest) -> HttpResponse:
    """The figures alone, for the page's htmx polling (and readable without it)."""
    response = render(request, "metrics/operations_panel.html", {"ops": read_operations(timezone.now())})
    response["Cache-Control"] = "no-store"
    return response
