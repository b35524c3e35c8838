"""Checks on what a client sends, shared by the API's parsers and the page middleware.

Text must be storable: PostgreSQL refuses NUL in text, and a lone surrogate (JSON "\\ud800")
has no UTF-8 form, so it fails both the database and the JSON renderer echoing it in an error.
Nesting is bounded, so a hostile body cannot make validation or rendering recurse without limit.
"""

from typing import Any

from django.conf import settings
from django.http import QueryDict

NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Must be valid Unicode text (no lone surrogates)."
DEFAULT_MAX_JSON_DEPTH = 32


def text_problem(value: str) -> str | None:
    """Why the database could not store this text, or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
    return None


def printable_name(name: str) -> str:
    """A key as it can be shown back: surrogates escaped ("\\ud800"), so the error itself renders."""
    return name.encode("utf-8", "backslashreplace").decode() if text_problem(name) else name


def max_json_depth() -> int:
    return getattr(settings, "API_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)


class TooDeep(Exception):
    pass


def first_unstorable(data: Any, max_depth: int) -> tuple[list[str], str] | None:
    """The path (keys and list indexes, as text) to the first string, key or value, that cannot be
    stored, with the reason; None when all is well. Raises TooDeep past `max_depth` levels of nesting.
    Iterative, so the walk itself cannot overflow the stack; a path is built only for containers."""
    if isinstance(data, str):
        problem = text_problem(data)
        return ([], problem) if problem else None
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if len(path) >= max_depth:
            raise TooDeep
        items = value.items() if isinstance(value, dict) else enumerate(value)
        containers = []
        for key, child in items:
            if isinstance(key, str) and (problem := text_problem(key)):
                return [*path, printable_name(key)], problem
            if isinstance(child, str):
                if problem := text_problem(child):
                    return [*path, str(key)], problem
            elif isinstance(child, dict | list):
                containers.append((child, [*path, str(key)]))
        stack.extend(reversed(containers))
    return None


def check_depth(data: Any, max_depth: int) -> None:
    """Raise TooDeep past `max_depth` levels of nesting, as `first_unstorable` would, for data as a
    JSON decoder returns it (plain dicts and lists); no look at the text, and no paths built."""
    level = [data] if type(data) in _CONTAINERS else []
    depth = 0
    while level:
        if depth >= max_depth:
            raise TooDeep
        level = [
            child
            for value in level
            for child in (value.values() if type(value) is dict else value)
            if type(child) in _CONTAINERS
        ]
        depth += 1


_CONTAINERS = frozenset((dict, list))


def form_fields(query: QueryDict) -> dict[str, Any]:
    """A QueryDict as the client meant it: one value per name, or the list when the name repeats."""
    return {name: values[0] if len(values) == 1 else values for name, values in query.lists()}


def without_nul(query: QueryDict) -> QueryDict:
    """The same QueryDict with NUL shown as U+FFFD, as Django already shows bytes that are not UTF-8."""
    if not any("\x00" in name or any("\x00" in value for value in values) for name, values in query.lists()):
        return query
    cleaned = QueryDict(mutable=True, encoding=query.encoding)
    for name, values in query.lists():
        cleaned.setlist(name.replace("\x00", "\ufffd"), [value.replace("\x00", "\ufffd") for value in values])
    cleaned._mutable = query._mutable
    return cleaned


def nested_errors(path: list[str], message: str) -> dict:
    """`["0", "title"]` -> `{"0": {"title": [message]}}`, DRF's shape for nested and list errors."""
    if not path:
        return {"non_field_errors": [message]}
    errors: Any = [message]
    for key in reversed(path):
        errors = {key: errors}
    return errors
