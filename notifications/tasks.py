from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

from . import channels, delivery, digests


@shared_task(name="notifications.deliver_batch", acks_late=True, soft_time_limit=delivery.DELIVER_SOFT_LIMIT_S)
def deliver_batch(delivery_ids: list[int]) -> dict:
    """Send a batch of outbox rows; safe to run twice (each row is claimed by one worker only)."""
    return vars(delivery.deliver(delivery_ids))


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> dict:
    """Enqueue deferred deliveries that are due; resolve rows stuck in `sending` by a dead worker."""
    return delivery.sweep()


@shared_task(name="notifications.send_digests")
def send_digests() -> dict:
    """Find every daily or weekly digest whose local time has come and fan the work out in batches.

    Each batch is its own task, so more worker processes send a big morning's digests faster; a
    batch claims each (user, period) before sending, so a batch run twice sends nothing twice.
    """
    now = timezone.now()
    due = digests.due_digests(now) + digests.take_over_retryable(now)
    for start in range(0, len(due), digests.BATCH):
        batch = [[d.user_id, d.period, d.period_start.isoformat(), d.retry] for d in due[start : start + digests.BATCH]]
        send_digest_batch.delay(batch, now.isoformat())
    return {"due": len(due)}


@shared_task(name="notifications.send_digest_batch", acks_late=True, soft_time_limit=600)
def send_digest_batch(batch: list[list], now: str) -> dict:
    dues = [digests.Due(user_id, period, date.fromisoformat(day), retry) for user_id, period, day, retry in batch]
    run = digests.DigestRun()
    with channels.get("email").session():
        digests.send_batch(dues, datetime.fromisoformat(now), run)
    return vars(run)


@shared_task(name="notifications.tell_address_disabled", bind=True, acks_late=True, max_retries=8)
def tell_address_disabled(self, address_id: int) -> str:
    """Email the user that one of their addresses stopped working (one email per disabling); retried
    with backoff while the ESP is down."""
    from .addresses import tell_disabled

    outcome = tell_disabled(address_id)
    if isinstance(outcome, channels.Transient):
        raise self.retry(countdown=max(outcome.retry_after or 0, 60 * 2**self.request.retries))
    return type(outcome).__name__ if outcome is not None else "nothing to send"
