from celery import shared_task

from . import services


@shared_task(name="notifications.deliver_batch", acks_late=True, soft_time_limit=120)
def deliver_batch(delivery_ids: list[int]) -> dict:
    """Send a batch of outbox rows; safe to run twice (each row is claimed by one worker only)."""
    return vars(services.deliver(delivery_ids))


@shared_task(name="notifications.sweep_outbox")
def sweep_outbox() -> dict:
    """Enqueue deferred deliveries that are due; resolve rows stuck in `sending` by a dead worker."""
    return services.sweep()
