"""The API's request parsers: DRF's, with a limit on nesting and a check that text is storable.

One place for every endpoint: a body is refused before any view or serializer sees it, with a
400 when it nests deeper than `API_MAX_JSON_DEPTH`, and a 400 naming the field (its path, e.g.
`{"0": {"title": [...]}}`) when a string holds NUL or a lone surrogate. A body larger than
`DATA_UPLOAD_MAX_MEMORY_SIZE` never gets here: Django refuses to read it, and the API's
exception handler answers 413.
"""

import codecs
import io
import re
from typing import Any

from rest_framework import exceptions, parsers

from .request_checks import (
    TooDeep,
    check_depth,
    first_unstorable,
    form_fields,
    max_json_depth,
    nested_errors,
)

# In a UTF-8 JSON body, NUL can only be a raw 0 byte or the escape \u0000, and a lone surrogate
# only an escape \ud800-\udfff: the UTF-8 decoder refuses surrogates' bytes. A body with none of
# these (nearly every one) needs only the depth check, not a look at each string: a tenth of the
# time. A match, even a false one such as the text "\\u0000", just means the full walk.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def maybe_unstorable(body: bytes) -> bool:
    """Whether a UTF-8 JSON body could hold NUL or a lone surrogate (False means it cannot)."""
    # `in` runs at memchr speed; the pattern only where escapes are (e.g. non-ASCII text).
    return b"\x00" in body or (b"\\u" in body and _UNSTORABLE_ESCAPE.search(body) is not None)


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


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:  # the C decoder's own guard, far beyond our limit
            raise _too_deep() from None
        if _is_utf8(parsers.get_encoding(parser_context or {})) and not maybe_unstorable(body):
            try:
                check_depth(data, max_json_depth())
            except TooDeep:
                raise _too_deep() from None
            return data
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
