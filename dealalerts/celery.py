import os
import time

from celery import Celery
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealalerts.settings")

app = Celery("dealalerts")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The operations page reads how long the oldest message of each queue has waited. Celery's own
# headers carry no send time (eta and expires only), and a Redis list keeps nothing else, so every
# message carries its own: seconds since the epoch when it was published.
SENT_AT_HEADER = "sent_at"


@before_task_publish.connect
def _stamp_send_time(headers: dict | None = None, **kwargs) -> None:
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())
