"""Undo a deleted rule: the rule's own settings, signed, come back with the Undo button.

The token (see `dealalerts.undo`) carries the rule's writable fields, and Undo creates the rule
again from it through the same validation as a new rule. Its match history went with it; the
rule's behaviour does not depend on it.
"""

from dealalerts import undo
from dealalerts.undo import MAX_AGE_S, Notice  # noqa: F401  (the alert pages' names for them)

from .api import DealAlertRuleSerializer
from .forms import FIELDS
from .models import DealAlertRule

KIND = "alerts"


def token_for(rule: DealAlertRule) -> str:
    data = DealAlertRuleSerializer(rule).data
    return undo.token_for(KIND, rule.user_id, {name: data[name] for name in FIELDS})


def rule_data(token: str, user_id: int) -> tuple[str, dict] | None:
    """The token's own id and the deleted rule's fields, or None for a token not this user's or too old."""
    return undo.load(KIND, token, user_id)


def claim(user_id: int, undo_id: str) -> bool:
    """True once per token, so a double click on Undo restores the rule once."""
    return undo.claim(KIND, user_id, undo_id)


def release(user_id: int, undo_id: str) -> None:
    undo.release(KIND, user_id, undo_id)
