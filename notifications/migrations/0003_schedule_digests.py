from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Send daily and weekly digests"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="notifications.send_digests", every=5, period="minutes",
        description="Finds users whose local digest time has come this period and sends one digest each. "
        "The default times live in 'Default digest schedule'.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_defaults_and_sweep"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
