from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Tell price drops held back by the one-a-day limit"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="watchlist.recheck_recent_alerts", every=1, period="hours", queue="ingest",
        description="A watched item alerts at most once a day; a further drop that day is told once the "
        "user's next local day starts.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("watchlist", "0001_items"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
