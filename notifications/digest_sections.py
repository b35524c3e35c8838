"""Digest sections other apps contribute: the watchlist's price trends, later recommendations.

`notifications` sits below the producers and must not import them, so a producer registers a
`Section` from its `AppConfig.ready()`. A digest batch asks each section once for the whole batch
(`rows` takes every user's window and returns rows by user id, in a fixed number of queries
whatever the batch holds), so a batch's query count stays constant as sections are added.
A section with no rows for a user is left out of that user's digest; one with rows is content
enough to send the digest, unless it is not news (`news=False`: recommendations, which every user
has every day) and only rides along with a digest that has something else to tell.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    """The stretch of time a user's digest covers: after `start`, up to `end` (now)."""

    start: datetime
    end: datetime


# Given {user id: that user's window} for a whole batch, the rows each user should see (users
# without rows may be missing). Rows are plain values the section's templates read.
RowsFunction = Callable[[Mapping[int, Window]], Mapping[int, list]]
# Given {user id: the rows that user's sent digest carried}, once per batch after sending (e.g. to
# record impressions): what was only gathered, for a digest left empty or a preview, is not told.
SentFunction = Callable[[Mapping[int, list]], None]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    order: int  # lower comes first, after the deals
    rows: RowsFunction
    html_template: str  # Jinja2, under templates/: given `section` and `rows`
    text_template: str
    news: bool = True  # False: shown in a digest that is sent anyway, never the reason to send one
    sent: SentFunction | None = None


@dataclass(frozen=True)
class SectionRows:
    """One section as one digest shows it."""

    section: Section
    rows: list

    @property
    def key(self) -> str:
        return self.section.key

    @property
    def title(self) -> str:
        return self.section.title


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add or replace (by key: `ready()` can run more than once in tests) a digest section."""
    _sections[section.key] = section


def registered() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


def gather(windows: Mapping[int, Window]) -> dict[int, list[SectionRows]]:
    """Every registered section's rows for a batch: {user id: [non-empty sections, in order]}."""
    by_user: dict[int, list[SectionRows]] = {user_id: [] for user_id in windows}
    if not windows:
        return by_user
    for section in registered():
        for user_id, rows in section.rows(windows).items():
            if rows and user_id in by_user:
                by_user[user_id].append(SectionRows(section, list(rows)))
    return by_user


def report_sent(sent: Mapping[int, list[SectionRows]]) -> None:
    """After a batch: each section with a `sent` hook hears, once, the rows of the digests that went out."""
    by_section: dict[str, tuple[Section, dict[int, list]]] = {}
    for user_id, sections in sent.items():
        for rows in sections:
            if rows.section.sent is not None:
                by_section.setdefault(rows.key, (rows.section, {}))[1][user_id] = rows.rows
    for section, rows_by_user in by_section.values():
        section.sent(rows_by_user)
