"""The project's API router and the error shape every endpoint shares."""

from rest_framework import routers
from rest_framework.views import exception_handler as drf_exception_handler


class OptionalSlashRouter(routers.DefaultRouter):
    """`/api/listings` and `/api/listings/` both work, as the contract says."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"  # the constructor only takes a bool


router = OptionalSlashRouter()


def exception_handler(exc, context):
    """Errors are always a JSON object: `{field: [messages]}` or `{"detail": message}`."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response
