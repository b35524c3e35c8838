"""Text normalisation shared by search, deal scoring and (later) rule matching.

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


def words(text: str) -> list[str]:
    """The folded, singular words of `text`, in order (duplicates kept)."""
    return [singular(w) for w in _WORD_RE.findall(fold(text))]


def key_words(text: str) -> list[str]:
    """Words worth comparing titles on, in order: no stop words, no one-letter words."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]
