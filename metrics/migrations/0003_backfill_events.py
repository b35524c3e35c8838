"""The event log for a site that existed before it: sign-ups, rules and SMS opt-ins, from the rows.

Without this, a site upgraded in place would show every existing user as never signed up and every
first rule as made today. Each existing user gets `user.signed_up` at `date_joined`, each existing
rule `rule.created` at its `created_at` (a repeat for all but the user's first), and each verified
SMS number not opted out `sms.opted_in` at its verification. Rules deleted earlier and opt-ins
since withdrawn left no row, so they cannot be recovered.

Anything the live code already logged (a site that ran it before migrating) is not written again.
Every row written says `detail="backfill"`, and going backwards deletes exactly those.
"""

from django.db import migrations

BATCH = 2000
MARK = "backfill"
SIGNED_UP, RULE_CREATED, SMS_OPTED_IN = "user.signed_up", "rule.created", "sms.opted_in"


def _write(Event, events) -> None:
    batch = []
    for event in events:
        batch.append(event)
        if len(batch) >= BATCH:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)


def backfill(apps, schema_editor):
    Event = apps.get_model("activity", "Event")
    User = apps.get_model("accounts", "User")
    DealAlertRule = apps.get_model("alerts", "DealAlertRule")
    Address = apps.get_model("notifications", "Address")

    logged = Event.objects.filter(kind=SIGNED_UP).values("user_id")
    users = User.objects.exclude(pk__in=logged).order_by("pk").values_list("pk", "date_joined")
    _write(
        Event,
        (
            Event(kind=SIGNED_UP, user_id=pk, created_at=joined, detail=MARK)
            for pk, joined in users.iterator(chunk_size=BATCH)
        ),
    )

    # A user with a rule already logged has had their first one: all of theirs here are repeats.
    had_one = set(Event.objects.filter(kind=RULE_CREATED).values_list("user_id", flat=True).distinct())
    logged = Event.objects.filter(kind=RULE_CREATED, ref_id__isnull=False).values("ref_id")
    rules = (
        DealAlertRule.objects.exclude(pk__in=logged)
        .order_by("user_id", "created_at", "pk")
        .values_list("pk", "user_id", "created_at")
    )

    def rule_events():
        for pk, user_id, created_at in rules.iterator(chunk_size=BATCH):
            yield Event(
                kind=RULE_CREATED,
                user_id=user_id,
                ref_id=pk,
                repeat=user_id in had_one,
                created_at=created_at,
                detail=MARK,
            )
            had_one.add(user_id)

    _write(Event, rule_events())

    logged = Event.objects.filter(kind=SMS_OPTED_IN).values("user_id")
    numbers = (
        Address.objects.filter(channel="sms", verified_at__isnull=False, opted_out_at__isnull=True)
        .exclude(user_id__in=logged)
        .order_by("pk")
        .values_list("user_id", "verified_at")
    )
    _write(
        Event,
        (
            Event(kind=SMS_OPTED_IN, channel="sms", user_id=user_id, created_at=verified_at, detail=MARK)
            for user_id, verified_at in numbers.iterator(chunk_size=BATCH)
        ),
    )


def remove_backfill(apps, schema_editor):
    Event = apps.get_model("activity", "Event")
    Event.objects.filter(kind__in=[SIGNED_UP, RULE_CREATED, SMS_OPTED_IN], detail=MARK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_schedule_roll_up"),
        ("activity", "0001_initial"),
        ("accounts", "0003_phone"),
        ("alerts", "0002_schedule_rule_check"),
        ("notifications", "0007_notification_news"),
    ]

    operations = [migrations.RunPython(backfill, remove_backfill)]
