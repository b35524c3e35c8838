"""A user's API token (`Authorization: Token …`), managed from the profile page.

DRF keeps one token per user. Creating one replaces any other, so a token that may have
leaked stops working the moment a new one is made; revoking deletes it.
"""

from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import User


def create_api_token(user: User) -> Token:
    with transaction.atomic():
        # Two clicks at once: the second waits for the first, then replaces its token, instead of
        # meeting the one-token-per-user constraint.
        User.objects.select_for_update().filter(pk=user.pk).first()
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def revoke_api_token(user: User) -> bool:
    """True when there was a token to revoke."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def masked(key: str) -> str:
    """Enough of a key to recognise it, not to use it."""
    return f"{key[:4]}…{key[-4:]}"
