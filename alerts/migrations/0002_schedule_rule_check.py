from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Check all deal alert rules (safety net)"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="alerts.check_all_rules", every=30, period="minutes", queue="ingest",
        description="Re-matches listings seen in the last 30 minutes; records only matches the live matcher missed.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
