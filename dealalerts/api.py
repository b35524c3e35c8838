"""The project's API router and the error shape every endpoint shares."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, routers, status
from rest_framework.views import exception_handler as drf_exception_handler


class OptionalSlashRouter(routers.DefaultRouter):
    """`/api/listings` and `/api/listings/` both work, as the contract says."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"  # the constructor only takes a bool


router = OptionalSlashRouter()


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def exception_handler(exc, context):
    """Errors are always a JSON object: `{field: [messages]}` or `{"detail": message}`."""
    if isinstance(exc, RequestDataTooBig):  # raised by Django when DRF reads the body
        exc = RequestTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: an API client gets JSON like every other API error; a page, Django's HTML page.

    Django has already logged the exception (and sent `got_request_exception`) before calling this.
    """
    if is_api_request(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: an unknown API path is a JSON 404, as a missing object already is; a page, Django's."""
    if is_api_request(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
