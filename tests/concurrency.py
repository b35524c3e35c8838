"""Running the same work in two threads at once, each on its own database connection."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")


def run_twice_at_once(work: Callable[[], T]) -> list[T]:
    """`work` in two threads released together; their results, or the first error raised."""
    return run_at_once(work, times=2)


def run_at_once(work: Callable[[], T], *, times: int) -> list[T]:
    """`work` in `times` threads released together; their results, or the first error raised.

    SQLite allows one writer at a time, so there the threads run one after the other; the race
    itself is exercised on PostgreSQL (CI).
    """
    sqlite = connection.vendor == "sqlite"
    barrier = threading.Barrier(1 if sqlite else times)
    results: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
        if sqlite:
            thread.join()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
