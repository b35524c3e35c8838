"""The API's request parsers: DRF's, with a limit on nesting and a check that text is storable.

One place for every endpoint: a body is refused before any view or serializer sees it, with a
400 when it nests deeper than `API_MAX_JSON_DEPTH`, and a 400 naming the field (its path, e.g.
`{"0": {"title": [...]}}`) when a string holds NUL or a lone surrogate. A body larger than
`DATA_UPLOAD_MAX_MEMORY_SIZE` never gets here: Django refuses to read it, and the API's
exception handler answers 413.
"""

from typing import Any

from rest_framework import exceptions, parsers

from .request_checks import TooDeep, first_unstorable, form_fields, max_json_depth, nested_errors


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(f"JSON parse error - nested more than {max_json_depth()} levels deep.")


def check_parsed(data: Any) -> Any:
    """Raise the API's 400 for data nested too deep or holding text that cannot be stored."""
    try:
        found = first_unstorable(data, max_json_depth())
    except TooDeep:
        raise _too_deep() from None
    if found:
        raise exceptions.ValidationError(nested_errors(*found))
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # the C decoder's own guard, far beyond our limit
            raise _too_deep() from None
        return check_parsed(data)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        check_parsed(form_fields(data))
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        check_parsed(form_fields(result.data))
        return result
