"""Daily roll-ups of the event log, which the metrics page reads instead of millions of events.

Why roll-ups rather than indexes alone: the page needs a window and the one before it, per day, for
six metrics; summed per (day, kind, channel, machine, repeat) that is a few thousand rows for 90
days whatever the traffic, where scanning the events themselves grows with it. `rollup.roll_up`
(beat, every minute) recomputes the days that got events since it last ran, so the page is at most
a minute behind.
"""

from django.conf import settings
from django.db import models


class DailyCount(models.Model):
    """How many events of a kind (on a channel, by machines or people, first or not) one UTC day had."""

    day = models.DateField()
    kind = models.CharField(max_length=30)
    channel = models.CharField(max_length=10, blank=True, default="")
    machine = models.BooleanField(default=False)
    repeat = models.BooleanField(default=False)
    first_human = models.BooleanField(default=False)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "channel", "machine", "repeat", "first_human"], name="daily_count_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.kind} {self.channel} on {self.day}"


class DailyUsers(models.Model):
    """The users active on one UTC day, and how many of them had an alert rule and SMS on (as of that day)."""

    day = models.DateField(unique=True)
    active = models.PositiveIntegerField(default=0)
    with_rule = models.PositiveIntegerField(default=0)
    sms_on = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily users"

    def __str__(self) -> str:
        return f"{self.active} active on {self.day}"


class ActiveUser(models.Model):
    """The last UTC day each user did something: "active in the last 30 days" is one indexed range."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    last_active_on = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"User {self.user_id} last active {self.last_active_on}"


class RollupState(models.Model):
    """Where the roll-up got to: the highest event id it has counted (one row)."""

    last_event_id = models.BigIntegerField(default=0)
    rolled_up_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Rolled up to event {self.last_event_id}"
