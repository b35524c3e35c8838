from celery import shared_task

from . import digests, services


@shared_task(name="notifications.deliver_batch", acks_late=True, soft_time_limit=120)
def deliver_batch(delivery_ids: list[int]) -> dict:
    """Send a batch of outbox rows; safe to run twice (each row is claimed by one worker only)."""
    return vars(services.deliver(delivery_ids))


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> dict:
    """Enqueue deferred deliveries that are due; resolve rows stuck in `sending` by a dead worker."""
    return services.sweep()


@shared_task(name="notifications.send_digests")
def send_digests() -> dict:
    """Send every daily or weekly digest whose local time has come; one per user and period."""
    return vars(digests.send_due_digests())
