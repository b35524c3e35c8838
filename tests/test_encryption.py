"""Encryption at rest: values round-trip, keys rotate, and a value hashed under a retired key is still found."""

import pytest
from cryptography.fernet import Fernet, InvalidToken

from dealalerts import encryption


def test_a_value_round_trips_and_is_not_stored_in_clear(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = encryption.encrypt("+15551234567")
    assert "5551234567" not in token
    assert encryption.decrypt(token) == "+15551234567"


def test_a_new_key_encrypts_and_the_retired_one_still_decrypts(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encryption.encrypt("+15551234567")
    old_digest = encryption.digest("+15551234567")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert encryption.decrypt(token) == "+15551234567"
    assert Fernet(new.encode()).decrypt(encryption.encrypt("x").encode()) == b"x"
    assert encryption.digests("+15551234567")[1] == old_digest  # a lookup by every digest finds it
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(InvalidToken):
        encryption.decrypt(token)


def test_without_keys_the_secret_keys_are_the_ring(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "first-secret", []
    token = encryption.encrypt("hello")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "second-secret", ["first-secret"]
    assert encryption.decrypt(token) == "hello"
    assert len(encryption.digests("hello")) == 2
