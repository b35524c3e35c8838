"""Helpers for data migrations that create django-celery-beat schedules.

Every periodic job is a database row, so staff can change its timing in admin
with no redeploy. Each app adds its own rows with a reversible RunPython using
these two functions.
"""


def add_interval_task(
    apps, *, name: str, task: str, every: int, period: str = "minutes", queue: str | None = None, description: str = ""
) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    PeriodicTask.objects.update_or_create(
        name=name,
        defaults={"task": task, "interval": interval, "queue": queue, "description": description, "enabled": True},
    )


def remove_task(apps, *, name: str) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
