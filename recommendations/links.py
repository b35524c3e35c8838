"""Tracked links to a recommended listing: the page's cards and the digest's rows go through them.

A token names who was shown what, where, and at which rank, so a click can be counted against the
impression without a session (an email opened on another device). It is signed with its own salt
(a token made for another purpose never passes) and expires, and the view only ever redirects to
the listing's own page here: a token cannot send anyone off-site.
"""

from datetime import timedelta
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Surface

CLICK_SALT = "recommendations.click"
CLICK_MAX_AGE = timedelta(days=90)


class Click(NamedTuple):
    user_id: int
    listing_id: int
    surface: str
    rank: int | None


@cache
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=CLICK_SALT)


def click_token(user_id: int, listing_id: int, surface: str, rank: int | None) -> str:
    return _signer().sign(f"{user_id}.{listing_id}.{surface}.{rank or ''}")


def click_from_token(token: str) -> Click | None:
    """The click a good token stands for; None when it is damaged, forged, expired or names no surface."""
    try:
        user_id, listing_id, surface, rank = _signer().unsign(token, max_age=CLICK_MAX_AGE).split(".")
        click = Click(int(user_id), int(listing_id), surface, int(rank) if rank else None)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None
    return click if surface in Surface.values else None


def click_path(user_id: int, listing_id: int, surface: str, rank: int | None) -> str:
    """For the site's own pages."""
    return f"{_prefix('')}{click_token(user_id, listing_id, surface, rank)}/"


def click_url(user_id: int, listing_id: int, surface: str, rank: int | None) -> str:
    """Absolute, for messages."""
    return f"{_prefix(settings.SITE_URL)}{click_token(user_id, listing_id, surface, rank)}/"


@cache
def _prefix(site_url: str) -> str:
    """Reversed once per site URL, not once per link (a digest run builds many)."""
    return site_url.rstrip("/") + reverse("recommendations:go", args=["TOKEN"]).removesuffix("TOKEN/")
