"""bench_metrics with tiny numbers: it makes the events, rolls them up and times the page, with the
same queries for every window."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from activity.models import Event


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_metrics_prints_the_page_time_over_the_events_it_made():
    out = StringIO()
    call_command("bench_metrics", events=400, users=15, days=60, repeat=1, stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue())

    assert result["events"] == Event.objects.count() >= 400
    assert result["queries"] == result["queries_90_days"]
    assert result["page_ms"] > 0
    again = StringIO()
    call_command("bench_metrics", events=400, users=15, days=60, repeat=1, stdout=again, stderr=StringIO())
    assert json.loads(again.getvalue())["events"] == result["events"]  # reused, not made twice
