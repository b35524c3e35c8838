"""Waiting on work done by another thread or process (a Celery worker), without fixed sleeps."""

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 20, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
