"""Counting attempts in the cache within fixed windows: the sign-in limits and the phone-code limits.

The cache is Redis in production and local memory in `make run`. Each attempt is counted before the
guarded action, with the cache's atomic increment, so a burst of parallel requests gets no more
tries than a sequence; every count expires with its window. The client address is the one DRF's
throttles use (`NUM_PROXIES`): X-Forwarded-For is trusted exactly as far as the proxies we run.
"""

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


@dataclass(frozen=True)
class Limit:
    allowed: int  # attempts allowed per window
    window_s: int


def wait_seconds(attempts: int, limit: Limit, now: float) -> int:
    """Seconds until the next attempt is allowed after `attempts` in the current window (0: now). Pure."""
    if attempts <= limit.allowed:
        return 0
    return max(1, int(limit.window_s - now % limit.window_s + 0.999))


def window(limit: Limit, now: float) -> int:
    """The number of the window `now` falls in: part of each key, so a count ends with its window."""
    return int(now // limit.window_s)


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF's throttles see it (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES)."""
    return BaseThrottle().get_ident(request) or "unknown"  # a WSGI server may leave REMOTE_ADDR out


def hashed(value: str) -> str:
    """A short hash for a cache key: no address, email or phone number stored in the cache in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def count(key: str, timeout: int) -> int:
    """Add one attempt to `key` and return the attempts so far."""
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout)
        return 1


def now() -> float:
    return time.time()
