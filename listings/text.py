"""Text normalisation shared by search, deal scoring and rule matching.

Text is Unicode-normalised, accents are folded ("Café" -> "cafe"), case is folded,
and it is split into words of letters and digits. English plurals fold to the
singular so "monitors" and "monitor" are the same word.
"""

import re
import unicodedata

_WORD_RE = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    "a an and are as at for from has in is it like new of on or the to used with w this that "
    "good great excellent condition works working sale obo firm only must go".split()
)


def fold(text: str) -> str:
    """Lower-case, accent-free form of `text` ("Crème BRÛLÉE" -> "creme brulee")."""
    if text.isascii():  # the common case, and NFKD cannot change ASCII
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def singular(word: str) -> str:
    """Fold a regular English plural to its singular; leave anything else alone."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Listings repeat a small vocabulary: remembering each word's singular saves most of the work of
# `words` at ingestion (tens of thousands of listings a second). Bounded, so odd text cannot grow it.
_singulars: dict[str, str] = {}
_SINGULARS_LIMIT = 1 << 16


# For ASCII text (nearly every listing) the same words as _WORD_RE on the lower-cased text, found
# about half again as fast: ingestion folds every listing's title and description.
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The folded, singular words of `text`, in order (duplicates kept)."""
    raw = _ASCII_WORD_RE.findall(text.lower()) if text.isascii() else _WORD_RE.findall(fold(text))
    try:
        return [_singulars[word] for word in raw]  # the common case: every word seen before
    except KeyError:
        if len(_singulars) + len(raw) > _SINGULARS_LIMIT:
            _singulars.clear()
        for word in raw:
            if word not in _singulars:
                _singulars[word] = singular(word)
        return [_singulars[word] for word in raw]


def listing_words(title: str, description: str) -> str:
    """What `Listing.search_words` stores: the words of title and description, space-separated
    and space-padded (" trek road bike "), so " road bike " is in it exactly when the text has
    those whole words adjacent — the alert predicate's test, as a substring. Empty without words."""
    found = words(f"{title} {description}")
    return f" {' '.join(found)} " if found else ""


def phrase_text(phrase: "list[str] | tuple[str, ...]") -> str:
    """The substring of `listing_words` that holds exactly when a listing contains `phrase`."""
    return f" {' '.join(phrase)} "


def key_words(text: str) -> list[str]:
    """Words worth comparing titles on, in order: no stop words, no one-letter words."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]


# A search: "quoted phrases" and bare terms; an unclosed quote runs to the end.
_QUERY_TERM_RE = re.compile(r'"([^"]*)(?:"|$)|([^\s"]+)')


def query_phrases(query: str) -> list[tuple[str, ...]]:
    """A browse search as the phrases every result must contain ('"gaming pc" cheap' ->
    [("gaming", "pc"), ("cheap",)]): each term folded like an alert keyword, so a bare term of
    several words ("usb-c") is a phrase too. Terms without letters or digits are dropped."""
    phrases: list[tuple[str, ...]] = []
    for quoted, bare in _QUERY_TERM_RE.findall(query):
        phrase = tuple(words(quoted or bare))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases
