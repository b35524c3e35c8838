"""What the notification pages say, where it differs from the API's words.

- History: each delivery's status once, then only what its reason adds. A delivery's `reason` is
  the policy's sentence ("held for the digest: daily cap of 10 reached"), written for the API and
  the admin, where it stands alone; beside a badge saying "Held for the digest" the page shows
  only "daily cap of 10 reached".
- Settings: errors in the page's words (the API says "null", a page has empty fields), and after
  a save, what was saved and what it does.
"""

from datetime import time

# What each status's badge already says, as the policy's reasons begin (notifications.policy.decide).
# Plain strings, the values of models.DeliveryStatus: the model's `note` uses this module.
STATUS_WORDS = {"sent": "sent", "held": "held for the digest", "deferred": "deferred", "skipped": "skipped"}
IN_THE_DIGEST = "sent in the digest"  # notifications.digests appends it when the digest goes out


def delivery_note(status: str, reason: str, last_error: str = "") -> str:
    """The part of `reason` (and of a retry's or failure's error) that the status does not say."""
    parts = [part.strip() for part in reason.split(";") if part.strip()]
    if status == "sent" and IN_THE_DIGEST in parts:
        # "held for the digest: frequency is daily; sent in the digest" -> "in the digest: frequency is daily"
        held = [p.split(":", 1)[1].strip() for p in parts if p.startswith("held for the digest:")]
        return "in the digest" + (f": {held[0]}" if held else "")
    notes = []
    for part in parts:
        own = STATUS_WORDS.get(status)
        if own and part.lower().startswith(own):
            part = part[len(own) :].lstrip(" :")
        elif part == "sent":  # the policy's "send now" on a row not sent yet says nothing more
            part = ""
        if part:
            notes.append(part)
    if last_error and status in ("failed", "deferred"):
        notes.append(("will retry: " if status == "deferred" else "") + last_error[:120])
    return "; ".join(notes)


# API error codes whose message speaks of JSON; the settings page says it in its own words.
PAGE_ERRORS = {
    "quiet_hours_incomplete": "Give both a start and an end time, or clear both to turn quiet hours off.",
}


def page_errors(errors: dict) -> dict[str, list[str]]:
    """A serializer's errors (ErrorDetail, with codes) as the settings page shows them."""
    return {
        field: [PAGE_ERRORS.get(getattr(message, "code", None), str(message)) for message in messages]
        for field, messages in errors.items()
    }


def quiet_hours_saved(start: time | None, end: time | None, urgent_through: bool, asked_on: bool) -> str:
    """What a save of the quiet-hours section did, in words."""
    if start is None or end is None:
        if urgent_through:
            return "Saved. Quiet hours are off, so letting urgent deals through has no effect until you set times."
        if asked_on:
            return "Saved. Quiet hours are off: give a start and an end time to turn them on."
        return "Saved. Quiet hours are off: notifications come at any hour."
    held = f"Saved. Notifications wait from {start:%H:%M} until {end:%H:%M}"
    return held + (", except urgent deals." if urgent_through else ", urgent deals too.")
