"""Browser tests: Playwright drives Debian's headless Chromium against pytest-django's `live_server`.

Run them with `pytest tests/browser` (needs /usr/bin/chromium; `make browser` installs it).
Never `playwright install`: we use the system Chromium, not a downloaded one.

Mark each test `@pytest.mark.browser` and `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`.
`live_server` tests are transactional: Django empties every table after each one, including the rows
the data migrations seeded (categories, celery-beat schedules). `serialized_rollback` reloads them before
each test, and `_share_db_snapshot` below makes that work under Playwright and leaves them in place at
the end, so a later `--reuse-db` session still finds its categories.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
BROWSER_TIME_ZONE = "America/Los_Angeles"


def pytest_configure(config):
    # pytest-playwright 0.10's own `base_url` fixture trips a pytest 9 deprecation; nothing for us to fix.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )


@pytest.hookimpl(trylast=True)  # after pytest-django has sorted the tests
def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    Once started, Playwright's event loop stays "running" in this thread until the session ends, and
    the browser tests need DJANGO_ALLOW_ASYNC_UNSAFE; neither should reach the other tests.
    """
    here = Path(__file__).parent
    browser_items = [item for item in items if here in item.path.parents]
    if not browser_items:
        return
    items[:] = [item for item in items if here not in item.path.parents] + browser_items


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_under_playwright():
    """Playwright's sync API runs an asyncio event loop in the test thread, so Django would refuse ORM
    calls made there ("You cannot call this from an async context"). The tests stay synchronous.

    Set for the rest of the session (the browser tests run last), not at import: subprocesses that
    other tests start (`manage.py check --deploy`) would inherit it and fail with async.E001.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if shutil.which(CHROMIUM) is None:  # fail loudly: a skipped browser test would hide a broken flow
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (or `make browser`)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": browser_type_launch_args.get("headless", True),  # --headed still works
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A browser time zone other than the server's UTC, so the signup page's
    # "default the time zone to the browser's" script has something to show.
    return {**browser_context_args, "timezone_id": BROWSER_TIME_ZONE, "locale": "en-US"}


@pytest.fixture(scope="session")
def _db_snapshot(django_db_setup):
    """The test databases' contents right after migrations, serialized by `django_db_setup`.

    Taken before Playwright starts: see `_share_db_snapshot`.
    """
    return {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }


@pytest.fixture(scope="session", autouse=True)
def _share_db_snapshot(_allow_orm_under_playwright, _db_snapshot, playwright, django_db_blocker, django_db_keepdb):
    """Make `serialized_rollback` work under Playwright; with `--reuse-db`, reload the snapshot at the end.

    Django keeps database connections in an asgiref Local that is thread-local while no event loop
    runs, but context-local while one does. Once Playwright has started its loop in this thread,
    tests therefore get new connection objects, without the `_test_serialized_contents` that
    `django_db_setup` put on the old ones: Django would neither reload the seeded rows before a
    test nor hold back the post_migrate signal when it flushes after one. Copy the snapshot over.
    """
    for alias, contents in _db_snapshot.items():
        connections[alias]._test_serialized_contents = contents
    yield
    with django_db_blocker.unblock():
        for alias, contents in _db_snapshot.items():
            if django_db_keepdb:
                # The last test flushed every table; a reused database must keep the migrations' rows.
                call_command("flush", database=alias, interactive=False, verbosity=0, inhibit_post_migrate=True)
                connections[alias].creation.deserialize_db_from_string(contents)
            # These connections live in Playwright's loop context, out of reach of Django's
            # teardown_databases(); close them or PostgreSQL refuses to drop the test database.
            connections[alias].close()
