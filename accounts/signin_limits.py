"""Sign-in limits: repeated failures refuse sign-in for a while.

Counted in the cache (Redis in production, local memory in `make run`) per window of
`SIGNIN_FAILURE_WINDOW_SECONDS`, two ways: per account and client address (a guesser at one
account) and per client address (a guesser trying many accounts). Neither counts attempts from
elsewhere, so a guesser cannot lock the real user out at the user's own address, and every count
expires with its window. Each attempt is counted before the password is checked, with the
cache's atomic increment, so a burst of parallel guesses gets no more tries than a sequence.
The address is the one DRF's throttles use (`NUM_PROXIES`): X-Forwarded-For is trusted exactly
as far as the proxies we run.
"""

import contextlib
import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from .models import User

KEY_PREFIX = "signin-failures"


@dataclass(frozen=True)
class Limit:
    failures: int  # attempts allowed per window, beyond those that succeeded
    window_s: int


class SignInRefused(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.")


def limits() -> tuple[Limit, Limit]:
    """(per account and address, per address), from settings; one window for both."""
    window = settings.SIGNIN_FAILURE_WINDOW_SECONDS
    return Limit(settings.SIGNIN_FAILURES_PER_ACCOUNT, window), Limit(settings.SIGNIN_FAILURES_PER_ADDRESS, window)


def wait_seconds(attempts: int, limit: Limit, now: float) -> int:
    """Seconds until sign-in is allowed again after `attempts` in the current window (0: now). Pure."""
    if attempts <= limit.failures:
        return 0
    return max(1, int(limit.window_s - now % limit.window_s + 0.999))


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF's throttles see it (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES)."""
    return BaseThrottle().get_ident(request) or "unknown"  # a WSGI server may leave REMOTE_ADDR out


def now() -> float:
    return time.time()


def _keys(request: HttpRequest, email: str, window: int) -> tuple[str, str]:
    address = hashlib.sha256(client_address(request).encode()).hexdigest()[:32]
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{window}:account:{account}:{address}", f"{KEY_PREFIX}:{window}:address:{address}"


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout)
        return 1


def authenticate_limited(request: HttpRequest, email: str, password: str) -> User | None:
    """Django's `authenticate`, refused with `SignInRefused` once a limit is passed.

    Every attempt counts; a success takes the account's attempts at this address off again,
    so a user who signs in often is never refused for it.
    """
    at = now()
    account_limit, address_limit = limits()
    keys = _keys(request, email, int(at // account_limit.window_s))
    timeout = account_limit.window_s + 60
    wait = max(
        wait_seconds(_count(keys[0], timeout), account_limit, at),
        wait_seconds(_count(keys[1], timeout), address_limit, at),
    )
    if wait:
        raise SignInRefused(wait)
    user = authenticate(request, username=email, password=password)
    if user is not None:
        cache.delete(keys[0])
        with contextlib.suppress(ValueError):  # the window ended meanwhile
            cache.decr(keys[1])
    return user
