from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Refresh users' recommendations"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="recommendations.refresh_due", every=15, period="minutes", queue="default",
        description="Recomputes the cached recommendation lists that are missing, marked stale by new "
        "feedback, or older than half their maximum age, in batches spread over the workers.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
