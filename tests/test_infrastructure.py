"""The project's wiring against the real services: database, broker (Redis in CI), Celery worker."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dealalerts.celery import app as celery_app
from listings.models import Listing
from listings.signals import listings_ingested
from tests.factories import raw_listing

ROOT = Path(__file__).resolve().parent.parent


def test_ingest_hands_new_and_repriced_ids_to_the_worker(celery_worker, staff_api):
    received: list[tuple[list[int], list[int]]] = []
    done = threading.Event()

    def on_ingested(sender, created, repriced, **kwargs):
        received.append((created, repriced))
        done.set()

    listings_ingested.connect(on_ingested, weak=False)
    try:
        staff_api.post("/api/listings", [raw_listing(external_id="1")], format="json")
        assert done.wait(20), "the worker never announced the batch"
        done.clear()
        staff_api.post(
            "/api/listings", [raw_listing(external_id="1", price="199"), raw_listing(external_id="2")], format="json"
        )
        assert done.wait(20), "the worker never announced the second batch"
    finally:
        listings_ingested.disconnect(on_ingested)

    ids = dict(Listing.objects.values_list("external_id", "id"))
    assert received == [([ids["1"]], []), ([ids["2"]], [ids["1"]])]


def test_broker_is_the_configured_one():
    expected = "redis" if os.environ.get("REDIS_URL") else "dealalerts.broker:Transport"
    assert celery_app.connection_for_write().transport_cls == expected


def test_healthz_ok_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "down": []}


def test_healthz_names_the_broker_when_it_is_down(client, db, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(celery_app.conf, "broker_transport", None)  # the embedded broker names its class
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "down": ["broker"]}


def test_periodic_schedules_are_database_rows(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="listings.refresh_price_benchmarks")
    assert task.enabled and task.interval.every == 1 and task.interval.period == "hours"
    assert task.task in celery_app.tasks


def test_no_missing_migrations(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_migrations_reverse_and_reapply(transactional_db, django_db_serialized_rollback):
    try:
        call_command("migrate", "listings", "zero", verbosity=0)
        assert not connection.introspection.table_names().count("listings_listing")
    finally:
        call_command("migrate", verbosity=0)
    executor = MigrationExecutor(connection)
    assert not executor.migration_plan(executor.loader.graph.leaf_nodes())


PRODUCTION = {
    "DEBUG": "false",
    "SECURE_HTTPS": "true",
    "ALLOWED_HOSTS": "deals.example.com",
    "SECRET_KEY": "x7!kQ2#pZr9@Lm4$Vw8^Nb6&Tc1*Hy5(Jd3)Fg0-Ks2+Ue7=Oa9~Ri4",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "a" * 32,
    "TWILIO_PHONE_NUMBER": "+12015550100",
}


def check_deploy(**changes: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION, **changes}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_texts_would_only_be_printed():
    result = check_deploy(TWILIO_ACCOUNT_SID="")
    assert result.returncode != 0 and "notifications.W002" in result.stderr + result.stdout


def test_cache_is_redis_when_configured():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.endswith("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")


def test_check_deploy_refuses_the_development_push_contact():
    from notifications.channels.push import new_vapid_keys

    public, private = new_vapid_keys()
    refused = check_deploy(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    assert refused.returncode != 0 and "notifications.E003" in refused.stderr + refused.stdout
    fine = check_deploy(
        VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@deals.example.com"
    )
    assert fine.returncode == 0, fine.stdout + fine.stderr
