from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Roll up the event log for the metrics page"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="metrics.roll_up", every=1, period="minutes", queue="default",
        description="Counts the events recorded since the last run into daily totals, which the "
        "metrics page reads; the page is at most this interval behind.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
