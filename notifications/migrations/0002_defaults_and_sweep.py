from django.db import migrations

from dealalerts.schedules import add_interval_task, remove_task

SWEEP = "Send due deferred deliveries; recover stuck ones"


def add(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Preferences = apps.get_model("notifications", "NotificationPreferences")
    have = set(Preferences.objects.values_list("user_id", flat=True))
    Preferences.objects.bulk_create(
        [Preferences(user_id=uid) for uid in User.objects.values_list("id", flat=True) if uid not in have]
    )
    apps.get_model("notifications", "DigestSchedule").objects.get_or_create(pk=1)
    add_interval_task(
        apps, name=SWEEP, task="notifications.sweep_outbox", every=30, period="seconds",
        description="Deferred deliveries wait in the database (quiet hours, retry backoff); this sends the due ones "
        "and re-examines deliveries whose worker died mid-send.",
    )


def remove(apps, schema_editor):
    remove_task(apps, name=SWEEP)
    apps.get_model("notifications", "DigestSchedule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add, remove)]
