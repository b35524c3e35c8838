"""Undo for a delete, shared by the pages that offer it (alert rules, watchlist items).

Deleting stays a real delete: the page hands out a token carrying what it takes to put the thing
back, signed for this user and good for an hour, and Undo rebuilds it from the token. `claim`
makes a token good once, so a double click on Undo restores once.
"""

import secrets
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

MAX_AGE_S = 3600


@dataclass(frozen=True)
class Notice:
    """A line for the page's status area (templates/_messages.html), with an optional undo action."""

    text: str
    undo_url: str = ""
    undo_token: str = ""
    undo_target: str = ""


def _salt(kind: str, user_id: int) -> str:
    return f"{kind}.undo-delete:{user_id}"


def token_for(kind: str, user_id: int, data: dict) -> str:
    """A signed copy of `data` (JSON-ready values) for this user, with an id of its own for `claim`."""
    return signing.dumps({**data, "undo": secrets.token_hex(8)}, salt=_salt(kind, user_id), compress=True)


def load(kind: str, token: str, user_id: int) -> tuple[str, dict] | None:
    """The token's own id and its data, or None for a token not this user's, of another kind, or too old."""
    try:
        data = signing.loads(token, salt=_salt(kind, user_id), max_age=MAX_AGE_S)
    except signing.BadSignature:
        return None
    return data.pop("undo"), data


def claim(kind: str, user_id: int, undo_id: str) -> bool:
    """True once per token."""
    return cache.add(_claim_key(kind, user_id, undo_id), True, timeout=MAX_AGE_S)


def release(kind: str, user_id: int, undo_id: str) -> None:
    """Give a claim back when the restore failed (e.g. a limit), so Undo can be tried again."""
    cache.delete(_claim_key(kind, user_id, undo_id))


def _claim_key(kind: str, user_id: int, undo_id: str) -> str:
    return f"{kind}:undone:{user_id}:{undo_id}"


def with_notice(response: HttpResponse, request: HttpRequest, notice: Notice) -> HttpResponse:
    """An htmx answer plus the page's status line, swapped out of band (the old banner goes)."""
    status = render_to_string("_messages.html", {"notice": notice, "oob": True}, request=request)
    response.content += status.encode()
    return response
