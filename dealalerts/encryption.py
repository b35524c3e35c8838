"""Encryption at rest for the few values a database dump must not give away: phone numbers, Discord
webhook URLs, push subscriptions.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) in a `MultiFernet`, so keys rotate: the
first key encrypts, every key decrypts. The keys are FIELD_ENCRYPTION_KEYS (comma-separated Fernet
keys) or, when that is unset, keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS — rotating the
secret key the Django way then keeps old values readable. `manage.py reencrypt` rewrites every
stored value under the first key, after which the retired keys can go.

An encrypted value cannot be looked up; `digests` gives the keyed hashes to store beside a value
that must be found again (an inbound SMS names its sender): one per key, so a lookup still finds a
value hashed under a retired key.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _derived(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(f"dealalerts.encryption:{secret}".encode()).digest())


@cache
def _keys(configured: tuple[str, ...], secrets: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(k.encode() for k in configured) if configured else tuple(_derived(s) for s in secrets if s)


def keys() -> tuple[bytes, ...]:
    """The Fernet keys, newest first."""
    secrets = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    return _keys(tuple(settings.FIELD_ENCRYPTION_KEYS), secrets)


@cache
def _fernet(key_ring: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in key_ring])


def encrypt(value: str) -> str:
    return _fernet(keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The value; raises `InvalidToken` when no key opens it."""
    return _fernet(keys()).decrypt(token.encode()).decode()


def digests(value: str) -> list[str]:
    """The keyed hashes of a value, one per key, newest first: store the first, look up by all."""
    return [hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for key in keys()]


def digest(value: str) -> str:
    return digests(value)[0]


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; the empty string is stored as it is (emptiness is no secret)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken as error:
            raise InvalidToken(
                f"{self.model.__name__}.{self.name} cannot be decrypted: is its key in FIELD_ENCRYPTION_KEYS?"
            ) from error

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
