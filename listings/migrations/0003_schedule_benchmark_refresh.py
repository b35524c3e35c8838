from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

NAME = "Refresh deal-score price benchmarks"


def add(apps, schema_editor):
    add_interval_task(
        apps, name=NAME, task="listings.refresh_price_benchmarks", every=1, period="hours",
        description="Recomputes median prices per category and title word, used to score new listings.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("listings", "0002_seed_categories"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
