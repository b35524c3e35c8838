"""Query strings and form fields holding NUL, which PostgreSQL refuses in text.

One place for every page and API call. Django already decodes bytes that are not UTF-8 as
U+FFFD, so a lone surrogate cannot appear here; NUL (`%00`) can. The API refuses it with a
400 naming the parameter; pages see U+FFFD in its place, so a form answers with its usual error
beside the field (an unknown category, a wrong password) and a prefill from a link is ignored.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse

from .api import is_api_request
from .request_checks import first_unstorable, form_fields, nested_errors, without_nul

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class StorableTextMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            # Bodies are checked by the API's parsers (dealalerts/parsers.py).
            if found := first_unstorable(form_fields(request.GET), max_depth=2):
                return JsonResponse(nested_errors(*found), status=400)
            return self.get_response(request)
        request.GET = without_nul(request.GET)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            request.POST = without_nul(request.POST)
        return self.get_response(request)
