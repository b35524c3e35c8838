"""A Celery worker SIGKILLed mid-batch: the sweep and a new worker finish the job, every email sent once.

Real processes over real sockets: a Postmark sink and `celery worker` subprocesses using the
test database and the configured broker (PostgreSQL and Redis when set, else the SQLite file
and the filesystem broker).
"""

import time
from collections import Counter

import pytest

from dealalerts.celery import app as celery_app
from notifications import delivery
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, DeliveryStatus
from peers.processes import POSTMARK_BACKEND, SINK_TOKEN, postmark_sink, start_worker, worker_env
from tests.factories import ListingFactory, UserFactory
from tests.waiting import wait_until

USERS, LISTINGS = 30, 10  # 300 deliveries, ten per user: the default daily cap lets all through
SINK_DELAY = 0.02  # seconds per answer: a batch of 100 takes about two seconds, so the kill lands mid-batch
SENDING_TIMEOUT = 6  # seconds before the sweep takes back a row left `sending` (a batch hands back after half)


def purge_delivery_queues() -> None:
    """A broker that outlives test runs may still hold messages from an earlier one."""
    with celery_app.connection_for_write() as conn:
        for queue in ("notify", "urgent"):
            conn.default_channel.queue_purge(queue)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(settings, monkeypatch):
    settings.NOTIFICATIONS_SENDING_TIMEOUT = SENDING_TIMEOUT
    purge_delivery_queues()
    with postmark_sink(delay=SINK_DELAY) as sink:
        settings.EMAIL_BACKEND = POSTMARK_BACKEND  # the sweep, in this process, asks the sink too
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": SINK_TOKEN, "POSTMARK_API_URL": sink.url + "/"}
        users = [UserFactory() for _ in range(USERS)]
        listings = [ListingFactory() for _ in range(LISTINGS)]
        source = RuleSource(7, "Cheap ThinkPads", "mentions “thinkpad”")
        with monkeypatch.context() as m:
            m.setattr(delivery, "enqueue", lambda deliveries: None)  # enqueued below, once a worker runs
            notify([DealEvent(u.pk, item.pk, source) for u in users for item in listings])
        rows = list(Delivery.objects.all())
        assert len(rows) == USERS * LISTINGS and {r.status for r in rows} == {DeliveryStatus.PENDING}
        env = worker_env(sink.url, NOTIFICATIONS_SENDING_TIMEOUT=str(SENDING_TIMEOUT))

        def count(status: str) -> int:
            return Delivery.objects.filter(status=status).count()

        worker = start_worker(env)
        try:
            delivery.enqueue(rows)
            # Kill once the sink has accepted some of the first batch: sent, but not yet recorded.
            assert wait_until(lambda: sink.stats()["accepted"] >= 30, timeout=30), worker.output()
            worker.kill()  # SIGKILL to the process group: the main process and its pool child
        finally:
            worker.stop()
        accepted_at_kill = sink.stats()["accepted"]
        sent_at_kill, in_flight = count(DeliveryStatus.SENT), count(DeliveryStatus.SENDING)
        assert in_flight > 0 and accepted_at_kill > sent_at_kill  # the crash left sends unrecorded

        worker = start_worker(env)
        try:
            swept: Counter[str] = Counter()
            deadline = time.monotonic() + 45
            while Delivery.objects.exclude(status=DeliveryStatus.SENT).exists():
                assert time.monotonic() < deadline, worker.output()
                time.sleep(SENDING_TIMEOUT / 2)
                # Rows the killed worker left `sending`: settled if the sink has them, else sent again.
                swept.update(delivery.sweep())
        finally:
            worker.stop()
        by_key = sink.stats()["by_key"]

    duplicates = sum(n - 1 for n in by_key.values() if n > 1)
    lost = sum(1 for r in rows if by_key.get(r.dedup_key, 0) == 0)
    sent = count(DeliveryStatus.SENT)
    print(
        f"\nworker SIGKILLed with {accepted_at_kill} accepted by the provider, {sent_at_kill} recorded as sent "
        f"and {in_flight} in flight ('sending'); "
        f"after the sweep: sent {sent}/{len(rows)}, duplicates {duplicates}, lost {lost} "
        f"(the sweep found {swept['stuck_already_sent']} already sent, re-sent {swept['stuck_resent']})"
    )
    assert sent == len(rows)
    assert (duplicates, lost) == (0, 0)
    assert set(by_key) == {r.dedup_key for r in rows}
    assert swept["stuck_already_sent"] > 0  # the provider, asked, had them: settled, not sent again
