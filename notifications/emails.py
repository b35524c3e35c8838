"""Composing email: HTML (CSS inlined for mail clients) and plain text, with RFC 8058 unsubscribe headers."""

from dataclasses import dataclass

import css_inline
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from . import links

_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
_css_cache: dict[str, str] = {}


def email_css() -> str:
    if "css" not in _css_cache:
        path = finders.find("css/email.css")
        with open(path, encoding="utf-8") as f:
            _css_cache["css"] = f.read()
    return _css_cache["css"]


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


def compose(template: str, context: dict) -> Composed:
    """`notifications/email/<template>_{subject,body}.txt` and `<template>.html`, rendered."""
    context = {**context, "css": email_css(), "site_url": settings.SITE_URL.rstrip("/")}
    subject = " ".join(render_to_string(f"notifications/email/{template}_subject.txt", context).split())
    text = render_to_string(f"notifications/email/{template}_body.txt", context)
    html = _inliner.inline(render_to_string(f"notifications/email/{template}.html", context))
    return Composed(subject, text, html)


def message(
    composed: Composed, *, to: str, user_id: int, message_key: str, metadata: dict, connection=None
) -> EmailMultiAlternatives:
    """An email with one-click unsubscribe and a Message-ID fixed by `message_key`.

    The fixed Message-ID means a re-send after a crash is recognised as the same message by the
    receiving mail system.
    """
    unsubscribe = links.unsubscribe_url(user_id)
    domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "dealalerts.local"
    email = EmailMultiAlternatives(
        subject=composed.subject,
        body=composed.text,
        to=[to],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": f"<{message_key}@{domain}>",
        },
    )
    email.attach_alternative(composed.html, "text/html")
    email.metadata = metadata  # anymail passes this to the ESP; it comes back in tracking webhooks
    email.tags = [metadata.get("kind", "notification")]
    return email
