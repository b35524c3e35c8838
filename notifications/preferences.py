"""A user's notification preferences: reading and saving them, and what they mean for where a deal can go.

`channel_preferences` and `channel_choice` answer "where would this rule's deals go, and why?" for
the alert pages; `policy_preferences` turns the stored row into what the pure policy reads.
"""

from datetime import datetime, time

from django.utils import timezone

from accounts.models import User
from listings.models import Category

from . import channels, policy
from .models import (
    CHANNELS,
    Address,
    Delivery,
    DeliveryStatus,
    DigestSchedule,
    Frequency,
    Notification,
    NotificationPreferences,
    Weekday,
)


def preferences_for(user: User) -> NotificationPreferences:
    """The user's preferences, read fresh (one query), created with the defaults if missing."""
    prefs, _ = NotificationPreferences.objects.get_or_create(user=user)
    return prefs


def turn_off_channel(user_id: int, channel: str) -> bool:
    """Take `channel` out of the user's channels (their address on it is gone); True when it was on.

    Call it inside the transaction that removes the address: the row is locked, so a concurrent
    save of the channels section cannot put it back from a stale read.
    """
    prefs = NotificationPreferences.objects.select_for_update().filter(user_id=user_id).first()
    if prefs is None or channel not in prefs.channels:
        return False
    prefs.channels = [c for c in prefs.channels if c != channel]
    prefs.save(update_fields=["channels", "updated_at"])
    return True


def ensure_preferences(users: list[User]) -> None:
    """Give users without preferences the defaults, in one query (they normally have them from signup)."""
    missing = [u for u in users if not hasattr(u, "notification_preferences") or preferences_missing(u)]
    if not missing:
        return
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(user=u) for u in missing], ignore_conflicts=True
    )
    for u in missing:
        u.notification_preferences = NotificationPreferences(user=u)


def preferences_missing(user: User) -> bool:
    try:
        user.notification_preferences  # noqa: B018
    except NotificationPreferences.DoesNotExist:
        return True
    return False


def stored_addresses(user_ids) -> dict[int, list[Address]]:
    """Every channel's stored addresses of these users, in one query."""
    by_user: dict[int, list[Address]] = {uid: [] for uid in user_ids}
    for address in Address.objects.filter(user_id__in=list(by_user)).order_by("id"):
        by_user[address.user_id].append(address)
    return by_user


def addresses_on(user: User, channel: channels.Channel, stored: list[Address] | None = None) -> list[Address]:
    """The user's addresses on one channel with their state; `stored`: the user's rows, when already read."""
    if stored is None:
        stored = stored_addresses([user.pk])[user.pk]
    return channel.addresses(user, [a for a in stored if a.channel == channel.name])


def channel_addresses(user: User, stored: list[Address]) -> dict[str, list[Address]]:
    """The user's addresses on every built channel, with their state; `stored`: the user's rows."""
    return {name: addresses_on(user, channels.get(name), stored) for name in channels.available()}


def unreachable_because(
    user: User,
    prefs: NotificationPreferences,
    stored: list[Address],
    addresses: dict[str, list[Address]] | None = None,
) -> dict[str, str]:
    """Why each channel cannot reach the user, as the policy words it after "Email is …"; "" when it can.

    `addresses`: `channel_addresses`' answer, when the caller needs them too (each costs a keyed
    hash, and a phone number's parsing).
    """
    reasons = {}
    for name in CHANNELS:
        if name not in channels.available():
            reasons[name] = "not set up"
            continue
        channel = channels.get(name)
        if not channel.configured():
            reasons[name] = "not available on this site yet"
        else:
            on = addresses[name] if addresses is not None else addresses_on(user, channel, stored)
            reasons[name] = channel.unreachable_because(user, prefs, on)
    return reasons


def verified_channels(
    user: User, prefs: NotificationPreferences, stored: list[Address] | None = None
) -> frozenset[str]:
    """Channels that can reach this user now: set up, confirmed, and not disabled by a bounce or complaint."""
    if stored is None:
        stored = stored_addresses([user.pk])[user.pk]
    return frozenset(c for c, why in unreachable_because(user, prefs, stored).items() if not why)


def email_awaiting_confirmation(user: User, prefs: NotificationPreferences) -> bool:
    """Email would work but for the confirmation link the user has not followed yet."""
    email = channels.get("email")
    why = email.unreachable_because(user, prefs, addresses_on(user, email))
    return bool(user.email) and why == email.unverified_words


def policy_preferences(
    user: User,
    prefs: NotificationPreferences,
    stored: list[Address] | None = None,
    addresses: dict[str, list[Address]] | None = None,
) -> policy.Preferences:
    """The stored preferences as the pure policy reads them; `stored`: the user's addresses, when already
    read; `addresses`: each channel's, when already worked out (`channel_addresses`)."""
    if stored is None:
        stored = stored_addresses([user.pk])[user.pk]
    reasons = unreachable_because(user, prefs, stored, addresses)
    return policy.Preferences(
        time_zone=user.time_zone,
        channels=tuple(prefs.channels),
        verified=frozenset(c for c, why in reasons.items() if not why),
        not_verified_because={c: why for c, why in reasons.items() if why},
        frequency=prefs.frequency,
        quiet_start=prefs.quiet_hours_start,
        quiet_end=prefs.quiet_hours_end,
        urgent_in_quiet_hours=prefs.urgent_in_quiet_hours,
        category_filters=frozenset(prefs.category_filters),
        max_per_day=prefs.max_per_day,
        labels=channels.LABELS,
        in_words=channels.IN_WORDS,
        channel_caps=channels.DAILY_CAPS,
        urgent_only=frozenset({"sms"}) if prefs.sms_urgent_only else frozenset(),
    )


def channel_preferences(user: User) -> policy.Preferences:
    """The user's preferences as the policy reads them, fresh: for "where would this rule's deals go?"."""
    return policy_preferences(user, preferences_for(user))


def channel_choice(user: User, rule_channels: tuple[str, ...]) -> policy.ChannelChoice:
    """Where a deal for a rule naming these channels would go now, and why: the policy's own answer."""
    return policy.usable_channels(rule_channels, channel_preferences(user))


def category_slug_paths() -> dict[int, frozenset[str]]:
    """Each category id with the slugs of itself and its ancestors (a filter on a parent covers children)."""
    rows = {cid: (slug, parent) for cid, slug, parent in Category.objects.values_list("id", "slug", "parent_id")}
    paths: dict[int, frozenset[str]] = {}
    for cid in rows:
        slugs, current = set(), cid
        while current is not None and current in rows:
            slug, current = rows[current]
            slugs.add(slug)
        paths[cid] = frozenset(slugs)
    return paths


def digest_schedule(prefs: NotificationPreferences, defaults: DigestSchedule | None = None) -> tuple[time, int]:
    """The user's digest wall time and weekly day, falling back to the site defaults staff edit in admin."""
    defaults = defaults or DigestSchedule.current()
    default_time = defaults.weekly_time if prefs.frequency == Frequency.WEEKLY else defaults.daily_time
    weekday = prefs.digest_weekday if prefs.digest_weekday is not None else defaults.weekly_weekday
    return prefs.digest_time or default_time, weekday


def preferences_summary(user: User, now: datetime | None = None) -> dict:
    """Everything about a user's notification settings, as the API's summary and the settings page show it."""
    now = now or timezone.now()
    prefs = preferences_for(user)
    wall, weekday = digest_schedule(prefs)
    frequency = prefs.frequency
    if (
        frequency == Frequency.IMMEDIATE
        and Delivery.objects.filter(notification__user=user, status=DeliveryStatus.HELD).exists()
    ):
        frequency = Frequency.DAILY  # overflow past the cap waits for the next daily digest
    next_digest = policy.next_digest_at(now, frequency, wall, weekday, user.time_zone)
    count = sent_today(user, now)
    stored = stored_addresses([user.pk])[user.pk]
    reach = policy.usable_channels((), policy_preferences(user, prefs, stored))
    email = next(iter(addresses_on(user, channels.get("email"), stored)), None)
    return {
        "channels": list(prefs.channels),
        "verified_channels": sorted(verified_channels(user, prefs, stored)),
        "usable_channels": list(reach.channels),
        "channel_problems": list(reach.notes),
        "frequency": prefs.frequency,
        "digest_time": wall.strftime("%H:%M"),
        "digest_weekday": Weekday(weekday).label.lower(),
        "quiet_hours": {
            "start_time": prefs.quiet_hours_start.strftime("%H:%M") if prefs.quiet_hours_start else None,
            "end_time": prefs.quiet_hours_end.strftime("%H:%M") if prefs.quiet_hours_end else None,
            "urgent_in_quiet_hours": prefs.urgent_in_quiet_hours,
        },
        "category_filters": list(prefs.category_filters),
        "max_per_day": prefs.max_per_day,
        "sent_today": count,
        "remaining_today": max(0, prefs.max_per_day - count),
        "time_zone": str(user.time_zone),
        "next_digest_at": next_digest.astimezone(user.time_zone) if next_digest else None,
        "sms_urgent_only": prefs.sms_urgent_only,
        "addresses": address_states(user, prefs, stored),
        "email": {
            "address": user.email,
            "suppressed_at": email.disabled_at if email else None,
            "suppressed_reason": email.disabled_reason if email else "",
            "unsubscribed_at": prefs.email_unsubscribed_at,
            "confirmed_at": user.email_confirmed_at,
        },
    }


def address_states(user: User, prefs: NotificationPreferences, stored: list[Address]) -> list[dict]:
    """Each of the user's addresses on each built channel, with its state and, when unusable, why."""
    states = []
    for name in [c for c in CHANNELS if c in channels.available()]:
        channel = channels.get(name)
        found = addresses_on(user, channel, stored)
        why = channel.unreachable_because(user, prefs, found) if found else ""
        for address in found:
            states.append(
                {
                    "channel": name,
                    "channel_label": channel.label,
                    "label": address.label,
                    "verified_at": address.verified_at,
                    "disabled_at": address.disabled_at,
                    "disabled_reason": address.disabled_reason,
                    "problem": why,
                }
            )
    return states


def sent_today(user: User, now: datetime | None = None) -> int:
    local_day = (now or timezone.now()).astimezone(user.time_zone).date()
    return Notification.objects.filter(user=user, local_day=local_day, counts_toward_cap=True).count()
