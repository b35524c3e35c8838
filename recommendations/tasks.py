from celery import shared_task

from . import services

# One beat run hands out at most this many users; the rest wait for the next run (oldest lists first).
MAX_USERS_PER_RUN = 50_000


@shared_task(name="recommendations.refresh_due")
def refresh_due() -> int:
    """Beat: split the users whose list is missing, stale or old into batches, one task each, so
    every worker on the queue shares the refresh."""
    due = services.users_due(MAX_USERS_PER_RUN)
    for start in range(0, len(due), services.BATCH_SIZE):
        refresh_batch.delay(due[start : start + services.BATCH_SIZE])
    return len(due)


@shared_task(name="recommendations.refresh_batch")
def refresh_batch(user_ids: list[int]) -> int:
    return services.refresh(user_ids)
