"""Three months of the demo shoppers' activity, so the metrics page means something on a first run.

What real shoppers leave behind, written as the events the site would have recorded: browsing
sessions and the listings viewed in them, deal notifications sent on each channel and clicked (by
people, and by link scanners on email), digests sent and opened (by people, and on delivery by
Apple's privacy proxy), recommendations shown and clicked, rules created and phones verified for
SMS, a few of them later stopped. Engagement grows over the three months, as it would while the
product improves, so the "+40%" and "+50%" targets have a previous period to be measured against.

Ids of the notifications and digests these events are about start at `DEMO_REF_BASE`, far above
any real row's, so a real click is never taken for a repeat of a demo one. Written once: a second
run finds the events and returns.
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activity.machines import MACHINE_OPEN_SECONDS
from activity.models import Event, Kind
from alerts.models import DealAlertRule
from dealalerts.encryption import digest
from listings.models import Category, Listing
from notifications.models import Address, Frequency, NotificationPreferences
from notifications.preferences import ensure_preferences

DEMO_DOMAIN = "@dealalerts.local"
DEMO_REF_BASE = 10**12
MARK = "demo"
CHANNEL_MIX = [("email", 0.55), ("push", 0.25), ("sms", 0.1), ("discord", 0.1)]
HUMAN_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
PROXY_AGENT = "Mozilla/5.0"  # what Apple Mail Privacy Protection's fetches say
SCANNER_AGENT = "Mozilla/5.0 (compatible; Proofpoint URL Defense scanner)"


class _Writer:
    def __init__(self) -> None:
        self.rows: list[Event] = []
        self.ref = DEMO_REF_BASE

    def next_ref(self) -> int:
        self.ref += 1
        return self.ref

    def add(self, kind: str, at: datetime, user_id: int, **fields) -> None:
        self.rows.append(Event(kind=kind, created_at=at, user_id=user_id, detail=MARK, **fields))

    def flush(self) -> None:
        Event.objects.bulk_create(self.rows, batch_size=5000)
        self.rows = []


def seed_activity(*, days: int = 90, seed: int = 7, now: datetime | None = None) -> int:
    """Write the demo shoppers' `days` of activity, once; returns how many events."""
    if Event.objects.filter(detail=MARK).exists():
        return 0
    now = now or timezone.now()
    users = list(User.objects.filter(email__endswith=DEMO_DOMAIN, is_staff=False).order_by("id"))
    listing_ids = list(Listing.objects.filter(is_active=True).values_list("id", flat=True)[:5000])
    if not users or not listing_ids:
        return 0
    rng, writer = random.Random(seed), _Writer()
    start = now - timedelta(days=days)
    with transaction.atomic():
        User.objects.filter(pk__in=[u.pk for u in users], date_joined__gt=start).update(date_joined=start)
        for user in users:
            writer.add(Kind.USER_SIGNED_UP, start, user.id)
        _rules(rng, writer, users, start, now)
        _phones(rng, writer, users, start, now)
        for day in range(days):
            growth = day / max(days - 1, 1)  # 0 → 1 over the period
            midnight = start + timedelta(days=day)
            for user in users:
                _a_day(rng, writer, user.id, midnight, min(now, midnight + timedelta(days=1)), growth, listing_ids)
            if len(writer.rows) > 20_000:
                writer.flush()
        total = len(writer.rows)
        writer.flush()
    return Event.objects.filter(detail=MARK).count() or total


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def _a_day(
    rng: random.Random, w: _Writer, user_id: int, start: datetime, end: datetime, growth: float, listing_ids: list[int]
) -> None:
    if end <= start:
        return
    if rng.random() < 0.3 + 0.1 * growth:  # browses today
        for _ in range(rng.choice((1, 1, 2))):
            at = _at(rng, start, end)
            session = f"demo{w.next_ref()}"
            w.add(Kind.SESSION_STARTED, at, user_id, session=session)
            for _ in range(max(1, round(rng.gauss(2.2 + 1.6 * growth, 1.2)))):
                at += timedelta(seconds=rng.randint(20, 240))
                w.add(Kind.LISTING_VIEWED, at, user_id, session=session, listing_id=rng.choice(listing_ids))
            if rng.random() < 0.35:  # opened For you
                for rank in range(1, 11):
                    w.add(Kind.RECOMMENDATION_SHOWN, at, user_id, channel="page", rank=rank)
                    if rng.random() < 0.05 + 0.04 * growth:
                        w.add(
                            Kind.RECOMMENDATION_CLICKED,
                            at + timedelta(seconds=30),
                            user_id,
                            channel="page",
                            rank=rank,
                            first_human=True,
                            user_agent=HUMAN_AGENT,
                        )
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):  # deal notifications
        channel = rng.choices([c for c, _ in CHANNEL_MIX], [s for _, s in CHANNEL_MIX])[0]
        sent, ref = _at(rng, start, end), w.next_ref()
        w.add(Kind.NOTIFICATION_SENT, sent, user_id, channel=channel, ref_id=ref, provider=_provider(channel))
        machine = channel == "email" and rng.random() < 0.2
        if machine:  # a mail filter follows the link as the message arrives
            w.add(
                Kind.NOTIFICATION_CLICKED,
                sent + timedelta(seconds=rng.randint(1, 6)),
                user_id,
                channel=channel,
                ref_id=ref,
                machine=True,
                delay_seconds=3,
                user_agent=SCANNER_AGENT,
            )
        if rng.random() < 0.07 + 0.05 * growth:
            delay = rng.randint(60, 4 * 3600)
            w.add(
                Kind.NOTIFICATION_CLICKED,
                sent + timedelta(seconds=delay),
                user_id,
                channel=channel,
                ref_id=ref,
                repeat=machine,
                first_human=True,
                delay_seconds=delay,
                user_agent=HUMAN_AGENT,
            )
    if rng.random() < 0.3:  # the daily digest
        sent, ref = start + timedelta(hours=9, minutes=rng.randint(0, 30)), w.next_ref()
        if sent >= end:
            return
        w.add(Kind.DIGEST_SENT, sent, user_id, channel="email", ref_id=ref, provider="postmark")
        proxied = rng.random() < 0.4
        if proxied:  # Apple's proxy fetches the pixel on delivery
            w.add(
                Kind.DIGEST_OPENED,
                sent + timedelta(seconds=MACHINE_OPEN_SECONDS + rng.randint(0, 50)),
                user_id,
                channel="email",
                ref_id=ref,
                machine=True,
                delay_seconds=30,
                user_agent=PROXY_AGENT,
            )
        if rng.random() < 0.27:
            delay = rng.randint(300, 10 * 3600)
            opened = sent + timedelta(seconds=delay)
            w.add(
                Kind.DIGEST_OPENED,
                opened,
                user_id,
                channel="email",
                ref_id=ref,
                repeat=proxied,
                first_human=True,
                delay_seconds=delay,
                user_agent=HUMAN_AGENT,
            )
            if rng.random() < 0.3:
                w.add(
                    Kind.DIGEST_CLICKED,
                    opened + timedelta(seconds=40),
                    user_id,
                    channel="email",
                    ref_id=ref,
                    first_human=True,
                    delay_seconds=delay + 40,
                    user_agent=HUMAN_AGENT,
                )


def _provider(channel: str) -> str:
    return {"email": "postmark", "sms": "twilio", "discord": "discord", "push": "fcm.googleapis.com"}[channel]


def _rules(rng: random.Random, w: _Writer, users: list[User], start: datetime, now: datetime) -> None:
    """Most shoppers made a rule or two along the way (the demo shopper's own come from its seed); those
    who did hear about their deals in a daily digest, as many people choose."""
    have = set(DealAlertRule.objects.filter(user__in=users).values_list("user_id", flat=True))
    slugs = list(Category.objects.filter(parent__isnull=False).values_list("slug", flat=True)) or [""]
    new = []
    for user in users:
        if user.id in have or rng.random() >= 0.64:
            continue
        for slug in rng.sample(slugs, k=min(len(slugs), rng.choice((1, 1, 2)))):
            new.append(
                DealAlertRule(
                    user=user,
                    name=f"Good deals in {slug.replace('-', ' ')}",
                    categories=[slug] if slug else [],
                    min_deal_score=0.7,
                )
            )
    DealAlertRule.objects.bulk_create(new)
    makers = [u for u in users if u.id not in have and any(r.user_id == u.id for r in new)]
    ensure_preferences(makers)
    NotificationPreferences.objects.filter(user__in=makers).update(frequency=Frequency.DAILY)

    seen: set[int] = set()
    rules = list(DealAlertRule.objects.filter(user__in=users).order_by("user_id", "id"))
    for rule in rules:
        rule.created_at = _at(rng, start, now - timedelta(days=1))
    rules.sort(key=lambda r: r.created_at)
    # Their seeds logged "created now" through the one door rules go through; the made-up history replaces it.
    Event.objects.filter(kind=Kind.RULE_CREATED, ref_id__in=[r.id for r in rules]).delete()
    for rule in rules:
        w.add(Kind.RULE_CREATED, rule.created_at, rule.user_id, ref_id=rule.id, repeat=rule.user_id in seen)
        seen.add(rule.user_id)
    DealAlertRule.objects.bulk_update(rules, ["created_at"])


def _phones(rng: random.Random, w: _Writer, users: list[User], start: datetime, now: datetime) -> None:
    """About one shopper in six verifies a phone for SMS along the way; a few later reply STOP."""
    have_sms = set(Address.objects.filter(user__in=users, channel="sms").values_list("user_id", flat=True))
    addresses = []
    for n, user in enumerate(users):
        if user.id in have_sms or rng.random() >= 0.17:
            continue
        phone = f"+1201555{n:04d}"
        verified = _at(rng, start, now - timedelta(hours=1))
        stopped = _at(rng, verified, now) if rng.random() < 0.1 else None
        user.phone_number, user.phone_digest, user.phone_verified = phone, digest(phone), True
        user.save(update_fields=["phone_number", "phone_digest", "phone_verified"])
        addresses.append(
            Address(
                user=user,
                channel="sms",
                key=user.phone_digest,
                label=f"•••{phone[-4:]}",
                verified_at=verified,
                opted_out_at=stopped,
            )
        )
        w.add(Kind.SMS_OPTED_IN, verified, user.id)
        if stopped:
            w.add(Kind.SMS_OPTED_OUT, stopped, user.id)
    Address.objects.bulk_create(addresses)
