from dataclasses import dataclass
from datetime import datetime

from django import template
from rest_framework.authtoken.models import Token

from accounts.api_tokens import masked

register = template.Library()


@dataclass(frozen=True)
class TokenShown:
    masked: str
    created: datetime


@register.simple_tag
def api_token_of(user) -> TokenShown | None:
    """The user's API token as the profile shows it: masked, never the key."""
    token = Token.objects.filter(user=user).only("key", "created").first()
    return TokenShown(masked(token.key), token.created) if token else None
