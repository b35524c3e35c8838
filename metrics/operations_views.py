"""The operations page (staff): is anything wrong right now?"""

from django.http import HttpRequest, HttpResponse

from .access import staff_only


@staff_only
def operations_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("operations")


@staff_only
def operations_panel(request: HttpRequest) -> HttpResponse:
    return HttpResponse("operations")
