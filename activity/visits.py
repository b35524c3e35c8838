"""Browsing sessions ("visits"), for deals viewed per session.

A Django session lasts weeks; a visit is what analytics mean by a session: requests with no gap
longer than `VISIT_GAP`. Its id and last time live in the Django session, so a visitor who is not
signed in has visits too.
"""

import uuid
from datetime import datetime, timedelta

from django.http import HttpRequest

VISIT_GAP = timedelta(minutes=30)
_KEY = "visit"


def visit(request: HttpRequest, now: datetime) -> tuple[str, bool]:
    """This request's visit id, and whether it starts a new visit."""
    stored = request.session.get(_KEY)
    started = not (
        isinstance(stored, list)
        and len(stored) == 2
        and isinstance(stored[0], str)
        and isinstance(stored[1], int | float)
        and now.timestamp() - stored[1] < VISIT_GAP.total_seconds()
    )
    visit_id = uuid.uuid4().hex if started else stored[0]
    request.session[_KEY] = [visit_id, now.timestamp()]
    return visit_id, started
