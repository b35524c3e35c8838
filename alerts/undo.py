"""Undo a deleted rule: the rule's own settings, signed, come back with the Undo button.

Deleting stays a real delete (the API's DELETE included): the page hands out a token carrying the
rule's writable fields, signed for this user and good for an hour, and Undo creates the rule again
from it through the same validation as a new rule. Its match history went with it; the rule's
behaviour does not depend on it.
"""

import secrets
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache

from .api import DealAlertRuleSerializer
from .forms import FIELDS
from .models import DealAlertRule

MAX_AGE_S = 3600


@dataclass(frozen=True)
class Notice:
    """A line for the page's status area (templates/_messages.html), with an optional undo action."""

    text: str
    undo_url: str = ""
    undo_token: str = ""
    undo_target: str = ""


def _salt(user_id: int) -> str:
    return f"alerts.undo-delete:{user_id}"


def token_for(rule: DealAlertRule) -> str:
    data = DealAlertRuleSerializer(rule).data
    fields = {name: data[name] for name in FIELDS} | {"undo": secrets.token_hex(8)}
    return signing.dumps(fields, salt=_salt(rule.user_id), compress=True)


def rule_data(token: str, user_id: int) -> tuple[str, dict] | None:
    """The token's own id and the deleted rule's fields, or None for a token not this user's or too old."""
    try:
        data = signing.loads(token, salt=_salt(user_id), max_age=MAX_AGE_S)
    except signing.BadSignature:
        return None
    return data.pop("undo"), data


def claim(user_id: int, undo_id: str) -> bool:
    """True once per token, so a double click on Undo restores the rule once."""
    return cache.add(_claim_key(user_id, undo_id), True, timeout=MAX_AGE_S)


def release(user_id: int, undo_id: str) -> None:
    """Give a claim back when the restore failed (e.g. the rule limit), so Undo can be tried again."""
    cache.delete(_claim_key(user_id, undo_id))


def _claim_key(user_id: int, undo_id: str) -> str:
    return f"alerts:undone:{user_id}:{undo_id}"
