"""Measure delivery through a real Celery worker to a local provider sink; prints one JSON line.

`--channel email` sends to a Postmark sink, `--channel sms` to a Twilio sink (SMS-ready users,
five texts each: exactly the daily cap), `--channel push` to a push service sink (one subscribed
browser per user; the sink checks VAPID and decrypts every payload, as a browser's push service
and the browser would). The outbox rows are written as `notify` writes them
(pending deliveries with their dedup keys) but in bulk and without enqueueing; the clock runs
from `delivery.enqueue` until no row is pending or sending. Each sink counts what it accepted
per dedup key, so the result says whether anything was sent twice, not at all, or (for SMS)
beyond a user's daily cap.

`--channel discord` sends embeds to a Discord sink whose webhooks each take `--limit` requests per
`--window` seconds, as Discord's do (5 per 2 s): `--webhooks` users with one webhook each, their
deliveries interleaved. Discord's rate is Discord's, so the result also says how long the sink's
limits allow at the least (`limits_allow_s`: a webhook given n messages needs ceil(n / limit) - 1
refills) and how close the run came (`of_allowed`), with the requests the sink had to refuse.
"""

import functools
import json
import math
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.phones import mask_phone
from dealalerts.encryption import digest
from listings.models import Category, Listing
from notifications import channels, delivery, links, push_subscriptions
from notifications.channels import discord
from notifications.channels.push import new_vapid_keys
from notifications.models import (
    Address,
    ChannelDayCount,
    Delivery,
    DeliveryStatus,
    Kind,
    Notification,
    NotificationPreferences,
)
from peers.processes import celery_worker, discord_sink, postmark_sink, twilio_sink, webpush_sink, worker_env
from peers.webpush import WebPushPeer

PREFIX = "bench-delivery"
CREATE_BATCH = 2000
UNSETTLED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
SMS_TIME_ZONE = "America/New_York"


class Command(BaseCommand):
    help = (
        "Deliver N emails (to a local Postmark sink) or texts (to a local Twilio sink) through a real "
        "Celery worker; prints throughput, duplicates and losses as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", choices=["email", "sms", "discord", "push"], default="email")
        parser.add_argument("--deliveries", type=int, default=20000)
        parser.add_argument(
            "--users",
            type=int,
            default=1000,
            help="email and push (one browser each); SMS has one user per five texts (the daily cap).",
        )
        parser.add_argument("--webhooks", type=int, default=50, help="discord: users, one webhook each.")
        parser.add_argument("--limit", type=int, default=5, help="discord: the sink's requests per webhook per window.")
        parser.add_argument("--window", type=float, default=2.0, help="discord: the sink's rate-limit window, seconds.")
        parser.add_argument("--worker-concurrency", type=int, default=1, help="Pool processes (or threads).")
        parser.add_argument(
            "--worker-pool",
            choices=["prefork", "threads"],
            default="prefork",
            help="threads: one worker process sending concurrently (delivery is I/O-bound).",
        )
        parser.add_argument("--timeout", type=float, default=900, help="Give up after this many seconds.")

    def handle(
        self,
        channel: str,
        deliveries: int,
        users: int,
        worker_concurrency: int,
        worker_pool: str,
        timeout: float,
        webhooks: int = 50,
        limit: int = 5,
        window: float = 2.0,
        **options,
    ):
        if deliveries < 1:
            raise CommandError("--deliveries must be at least 1")
        run = f"{PREFIX}-{uuid.uuid4().hex[:8]}"
        cap = channels.get("sms").daily_cap or 1
        with ExitStack() as cleanup:  # unwinds in reverse: worker, rows, sinks
            email_sink = cleanup.enter_context(postmark_sink())
            env = worker_env(email_sink.url)
            if channel == "sms":
                sms_sink = cleanup.enter_context(twilio_sink())
                env = worker_env(email_sink.url, twilio_url=sms_sink.url)
            if channel == "discord":
                hook_sink = cleanup.enter_context(discord_sink(limit=limit, window=window))
                env = worker_env(email_sink.url, DISCORD_API_URL=f"{hook_sink.url}/api/v10")
            if channel == "push":
                push_sink = cleanup.enter_context(webpush_sink())
                public, private = new_vapid_keys()
                env = worker_env(
                    email_sink.url,
                    VAPID_PUBLIC_KEY=public,
                    VAPID_PRIVATE_KEY=private,
                    PUSH_ENDPOINTS_PUBLIC_ONLY="false",
                )
            cleanup.callback(delete_rows, run)
            if channel == "discord":
                rows = create_deliveries(run, deliveries, min(webhooks, deliveries), channel="discord")
            elif channel == "push":
                subscribe = functools.partial(new_subscription, push_sink.url, public)
                rows = create_deliveries(run, deliveries, min(users, deliveries), channel="push", subscribe=subscribe)
            elif channel == "sms":
                rows = create_deliveries(run, deliveries, math.ceil(deliveries / cap), channel="sms")
            else:
                rows = create_deliveries(run, deliveries, min(users, deliveries), channel="email")
            cleanup.enter_context(celery_worker(env, concurrency=worker_concurrency, pool=worker_pool))

            started = time.perf_counter()
            delivery.enqueue(rows)
            wait_settled(run, timeout)
            elapsed = time.perf_counter() - started

            if channel == "discord":
                sink_stats = hook_sink.stats()
                by_link = sink_stats["by_key"]
                by_key = {r.dedup_key: by_link.get(links.click_url(r.notification_id, "discord"), 0) for r in rows}
                duplicates = sum(count - 1 for count in by_link.values() if count > 1)
            elif channel == "push":  # the push sink counts by listing and subscription
                sink_stats = push_sink.stats()
                by_key = push_keys_by_dedup_key(rows, sink_stats["by_key"])
                duplicates = sum(count - 1 for count in by_key.values() if count > 1)
            else:
                by_key = (sms_sink if channel == "sms" else email_sink).stats()["by_key"]
                duplicates = sum(count - 1 for count in by_key.values() if count > 1)
            fallback_emails = email_sink.stats()["accepted"] if channel == "sms" else 0
            settled = {
                key: (status, reason)
                for key, status, reason in Delivery.objects.filter(pk__in=[r.pk for r in rows]).values_list(
                    "dedup_key", "status", "reason"
                )
            }
        result = {
            "channel": channel,
            "deliveries": deliveries,
            "per_s": round(deliveries / elapsed),
            "duplicates": duplicates,
        }
        if channel == "discord":
            per_webhook = Counter(r.notification.user_id for r in rows)
            allowed = max((math.ceil(n / limit) - 1) * window for n in per_webhook.values())
            result |= {
                "lost": sum(1 for r in rows if _lost(r, by_key, settled)),
                "rate_limit_violations": sink_stats["violations"],
                "elapsed_s": round(elapsed, 1),
                "limits_allow_s": allowed,
                "of_allowed": round(elapsed / allowed, 3) if allowed else None,
                "webhooks": len(per_webhook),
                "limit": f"{limit} per {window:g} s per webhook",
            }
        elif channel == "push":
            result["lost"] = sum(1 for r in rows if _lost(r, by_key, settled))
            result["rate_limit_violations"] = sink_stats["rate_limited"]
        elif channel == "email":
            result["lost"] = sum(
                1 for r in rows if by_key.get(r.dedup_key, 0) < 1 or settled.get(r.dedup_key, ("", ""))[0] != "sent"
            )
        else:
            skipped = Counter(
                reason for status, reason in settled.values() if status == DeliveryStatus.SKIPPED and reason
            )
            texts_per_user = Counter()
            for r in rows:
                texts_per_user[r.notification.user_id] += by_key.get(r.dedup_key, 0)
            result |= {
                "lost": sum(1 for r in rows if _lost(r, by_key, settled)),
                "over_cap": sum(1 for count in texts_per_user.values() if count > cap),
                "skipped": sum(skipped.values()),
                "skipped_because": dict(skipped),
                "fallback_emails": fallback_emails,
                "users": len(texts_per_user),
            }
        result |= {
            "worker_processes": worker_concurrency if worker_pool == "prefork" else 1,
            "pool": f"{worker_pool} x{worker_concurrency}",
            "database": connection.vendor,
        }
        self.stdout.write(json.dumps(result))


def _lost(row: Delivery, by_key: dict[str, int], settled: dict[str, tuple[str, str]]) -> bool:
    """Never accepted by the sink, or not recorded as sent, and not skipped for a stated reason."""
    status, reason = settled.get(row.dedup_key, ("", ""))
    if status == DeliveryStatus.SKIPPED and reason:
        return False
    return by_key.get(row.dedup_key, 0) < 1 or status != DeliveryStatus.SENT


def create_deliveries(
    run: str, count: int, users: int, *, channel: str, subscribe: Callable[[], dict] | None = None
) -> list[Delivery]:
    """`users` users, enough listings that each user has one notification per listing, `count` pending
    deliveries on `channel`: for SMS each user has a verified mobile number and SMS turned on."""
    if count < 1:
        raise CommandError("--deliveries must be at least 1")
    now = timezone.now()
    password = make_password(None)  # unusable, and hashed once
    if channel == "sms":
        people = create_sms_users(run, users, password, now)
    elif channel == "discord":
        people = create_discord_users(run, users, password, now)
    elif channel == "push":
        assert subscribe is not None
        people = create_push_users(run, users, password, now, subscribe)
    else:
        people = User.objects.bulk_create(
            [
                User(email=f"{run}-{i}@dealalerts.local", password=password, email_confirmed_at=now)
                for i in range(users)
            ],
            batch_size=CREATE_BATCH,
        )
        NotificationPreferences.objects.bulk_create(
            [NotificationPreferences(user=u) for u in people], batch_size=CREATE_BATCH
        )
    laptops = Category.objects.get(slug="laptops")
    listings = Listing.objects.bulk_create(
        [
            Listing(
                source="craigslist",
                external_id=f"{run}-{j}",
                url=f"https://sfbay.craigslist.org/{run}-{j}.html",
                title=f"Lenovo ThinkPad T14 laptop #{j}",
                price=Decimal("300.00"),
                category=laptops,
                zip_code="94103",
                first_seen_at=now,
                last_seen_at=now,
                deal_score=0.7,
            )
            for j in range(math.ceil(count / users))
        ]
    )
    source = {"kind": "rule", "id": 1, "name": "Cheap ThinkPads", "why": "mentions “thinkpad”, $300 is at most $500"}
    pairs = [(user, listing) for listing in listings for user in people][:count]
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                kind=Kind.DEAL_MATCH,
                listing=listing,
                local_day=now.astimezone(user.time_zone).date(),
                sources=[source],
                counts_toward_cap=True,
                reason="bench",
                created_at=now,
            )
            for user, listing in pairs
        ],
        batch_size=CREATE_BATCH,
    )
    return Delivery.objects.bulk_create(
        [
            Delivery(
                notification=n,
                channel=channel,
                status=DeliveryStatus.PENDING,
                dedup_key=delivery.dedup_key(n.id, channel),
                created_at=now,
            )
            for n in notifications
        ],
        batch_size=CREATE_BATCH,
    )


def create_sms_users(run: str, count: int, password: str, now) -> list[User]:
    """Users as `tests.factories.sms_user` makes them, in bulk: a confirmed email, a verified mobile
    number (encrypted, with its digest and a verified SMS address row), SMS turned on beside email."""
    # 201-200-0000 onwards: distinct, valid New Jersey numbers (area code 201, exchanges 200-399).
    phones = [f"+1201{200 + i // 10_000:03d}{i % 10_000:04d}" for i in range(count)]
    people = User.objects.bulk_create(
        [
            User(
                email=f"{run}-{i}@dealalerts.local",
                password=password,
                email_confirmed_at=now,
                time_zone=SMS_TIME_ZONE,
                phone_number=phone,
                phone_digest=digest(phone),
                phone_verified=True,
            )
            for i, phone in enumerate(phones)
        ],
        batch_size=CREATE_BATCH,
    )
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(user=u, channels=["email", "sms"]) for u in people], batch_size=CREATE_BATCH
    )
    Address.objects.bulk_create(
        [
            Address(user=u, channel="sms", key=u.phone_digest, label=mask_phone(u.phone_number), verified_at=now)
            for u in people
        ],
        batch_size=CREATE_BATCH,
    )
    return people


def create_discord_users(run: str, count: int, password: str, now) -> list[User]:
    """Users with a confirmed email and one registered Discord webhook each (a distinct id), Discord on."""
    people = User.objects.bulk_create(
        [User(email=f"{run}-{i}@dealalerts.local", password=password, email_confirmed_at=now) for i in range(count)],
        batch_size=CREATE_BATCH,
    )
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(user=u, channels=["email", "discord"]) for u in people], batch_size=CREATE_BATCH
    )
    hooks = [discord.Webhook(str(900000000000000000 + i), f"bench-{run[-8:]}-{i}") for i in range(count)]
    Address.objects.bulk_create(
        [
            Address(user=u, channel="discord", key=digest(h.url), value=h.url, label=h.masked, verified_at=now)
            for u, h in zip(people, hooks, strict=True)
        ],
        batch_size=CREATE_BATCH,
    )
    return people


def wait_settled(run: str, timeout: float) -> None:
    unsettled = Delivery.objects.filter(notification__user__email__startswith=run, status__in=UNSETTLED)
    deadline = time.monotonic() + timeout
    while unsettled.exists():
        if time.monotonic() > deadline:
            raise CommandError(f"{unsettled.count()} deliveries still unsettled after {timeout:.0f} s")
        time.sleep(0.2)


def delete_rows(run: str) -> None:
    """Everything the run created, fallback emails included; preferences go with their users."""
    Delivery.objects.filter(notification__user__email__startswith=run).delete()
    Notification.objects.filter(user__email__startswith=run).delete()
    Address.objects.filter(user__email__startswith=run).delete()
    ChannelDayCount.objects.filter(user__email__startswith=run).delete()
    User.objects.filter(email__startswith=run).delete()
    Listing.objects.filter(external_id__startswith=run).delete()


def create_push_users(run: str, count: int, password: str, now, subscribe: Callable[[], dict]) -> list[User]:
    """Users with push on beside email, each with one browser subscribed (on the sink) as the API stores it."""
    people = User.objects.bulk_create(
        [User(email=f"{run}-{i}@dealalerts.local", password=password, email_confirmed_at=now) for i in range(count)],
        batch_size=CREATE_BATCH,
    )
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(user=u, channels=["email", "push"]) for u in people], batch_size=CREATE_BATCH
    )
    subscriptions = [push_subscriptions.parse(subscribe(), public_only=False) for _ in people]  # a local sink
    Address.objects.bulk_create(
        [
            Address(
                user=u,
                channel="push",
                key=digest(s.endpoint),
                value=s.as_json(),
                label="Chrome on Linux",
                verified_at=now,
            )
            for u, s in zip(people, subscriptions, strict=True)
        ],
        batch_size=CREATE_BATCH,
    )
    return people


def new_subscription(sink_url: str, application_server_key: str) -> dict:
    """A browser's subscription made on the push sink, bound to our VAPID key as a browser's would be."""
    request = urllib.request.Request(
        f"{sink_url}/_subscribe",
        data=json.dumps({"application_server_key": application_server_key}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def push_keys_by_dedup_key(rows: list[Delivery], by_listing_and_token: dict[str, int]) -> dict[str, int]:
    """The push sink's counts (by "<listing id> <subscription token>") under each delivery's dedup key."""
    tokens = {
        a.user_id: WebPushPeer.token_of(json.loads(a.value)["endpoint"])
        for a in Address.objects.filter(channel="push", user_id__in={r.notification.user_id for r in rows})
    }
    return {
        r.dedup_key: by_listing_and_token.get(f"{r.notification.listing_id} {tokens[r.notification.user_id]}", 0)
        for r in rows
    }
