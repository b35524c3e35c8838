from celery import shared_task

from . import rollup


@shared_task(name="metrics.roll_up")
def roll_up() -> dict:
    """Beat, every minute: count the new events into the daily roll-ups the metrics page reads."""
    return rollup.roll_up()
