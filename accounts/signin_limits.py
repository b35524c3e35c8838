"""Sign-in limits: repeated failures refuse sign-in for a while.

Counted with `rate_limits` per window of `SIGNIN_FAILURE_WINDOW_SECONDS`, two ways: per account
and client address (a guesser at one account) and per client address (a guesser trying many
accounts). Neither counts attempts from elsewhere, so a guesser cannot lock the real user out at
the user's own address. Each attempt is counted before the password is checked, so parallel
guesses get no more tries than a sequence.
"""

import contextlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.http import HttpRequest

from . import rate_limits
from .models import User
from .rate_limits import Limit, client_address, count, hashed, wait_seconds, window

KEY_PREFIX = "signin-failures"


class SignInRefused(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.")


def limits() -> tuple[Limit, Limit]:
    """(per account and address, per address), from settings; one window for both."""
    window_s = settings.SIGNIN_FAILURE_WINDOW_SECONDS
    return Limit(settings.SIGNIN_FAILURES_PER_ACCOUNT, window_s), Limit(settings.SIGNIN_FAILURES_PER_ADDRESS, window_s)


def now() -> float:
    return rate_limits.now()


def _keys(request: HttpRequest, email: str, window: int) -> tuple[str, str]:
    address = hashed(client_address(request))
    account = hashed(email.strip().lower())
    return f"{KEY_PREFIX}:{window}:account:{account}:{address}", f"{KEY_PREFIX}:{window}:address:{address}"


def authenticate_limited(request: HttpRequest, email: str, password: str) -> User | None:
    """Django's `authenticate`, refused with `SignInRefused` once a limit is passed.

    Every attempt counts; a success takes the account's attempts at this address off again,
    so a user who signs in often is never refused for it.
    """
    at = now()
    account_limit, address_limit = limits()
    keys = _keys(request, email, window(account_limit, at))
    timeout = account_limit.window_s + 60
    wait = max(
        wait_seconds(count(keys[0], timeout), account_limit, at),
        wait_seconds(count(keys[1], timeout), address_limit, at),
    )
    if wait:
        raise SignInRefused(wait)
    user = authenticate(request, username=email, password=password)
    if user is not None:
        cache.delete(keys[0])
        with contextlib.suppress(ValueError):  # the window ended meanwhile
            cache.decr(keys[1])
    return user
