from django.db import migrations, models


def keep_one_per_day(apps, schema_editor):
    """Going back to one notification per (user, listing, day): keep each day's first, drop the rest."""
    Notification = apps.get_model("notifications", "Notification")
    seen = set()
    extra = []
    for pk, user_id, listing_id, day in Notification.objects.order_by("created_at", "id").values_list(
        "id", "user_id", "listing_id", "local_day"
    ):
        key = (user_id, listing_id, day)
        if key in seen:
            extra.append(pk)
        seen.add(key)
    Notification.objects.filter(id__in=extra).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_address_last_sent_at")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="news",
            field=models.CharField(default="match", max_length=40),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("deal_match", "Deal matched an alert"),
                    ("price_drop", "Price drop"),
                    ("recommendation", "Recommendation"),
                    ("listing_sold", "Watched listing sold"),
                ],
                default="deal_match",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="local_day",
            field=models.DateField(
                help_text="The day in the user's time zone; one notification per listing, news and day."
            ),
        ),
        migrations.RemoveConstraint(model_name="notification", name="notification_once_per_day"),
        migrations.RunPython(migrations.RunPython.noop, keep_one_per_day),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                fields=("user", "listing", "local_day", "news"), name="notification_news_once_per_day"
            ),
        ),
    ]
