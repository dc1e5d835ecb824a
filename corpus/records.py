"""What the core hands around: articles before and after they are stored, passages, audit entries.

Plain frozen dataclasses, the same whichever backend stores them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from corpus.chunking import Span

#: One article to store: the article, its passages, their vectors and each passage's sentence vectors.
ArticleRows = tuple["NewArticle", Sequence[Span], np.ndarray, Sequence[np.ndarray | None]]


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened to the embedded passages since some generation, up to ``generation``."""

    generation: int
    removed: np.ndarray  # passage ids to drop
    embedded: np.ndarray  # passage ids to (re)place, with their vectors below
    vectors: np.ndarray


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article as a moderator or an import hands it in, before it is stored."""

    title: str
    text: str
    source: str | None = None
    url: str | None = None
    published: str | None = None
    added_by: str | None = None
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article's metadata."""

    id: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    added_by: str | None
    added_at: str
    guild_id: int | None
    content_hash: str
    passage_count: int

    def to_json(self) -> dict[str, object]:
        """As ``list --json`` prints it."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "passages": self.passage_count,
            "guild_id": self.guild_id,
            "added_by": self.added_by,
            "added_at": self.added_at,
        }


@dataclass(frozen=True, slots=True)
class Copy:
    """Another outlet's copy of a stored story (a wire story published again), recorded against the first copy."""

    id: int
    article_id: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    added_by: str | None
    added_at: str
    guild_id: int | None
    similarity: float

    def to_json(self) -> dict[str, object]:
        """As ``show`` and ``list --json`` print it."""
        return {
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "added_by": self.added_by,
            "added_at": self.added_at,
            "similarity": round(self.similarity, 3),
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded moderator or admin action."""

    id: int
    at: str
    guild_id: int | None
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: str | None

    def to_json(self) -> dict[str, object]:
        """As ``audit --json`` prints it."""
        entry = asdict(self)
        del entry["id"]
        return entry


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A logged question that was refused, or whose answer got more 👎 than 👍."""

    question: str
    asked_at: str
    refused: bool


#: How the bot may listen in a channel: answer every question (in a thread), only mentions, or not at all.
CHANNEL_MODES = ("auto", "mention", "off")
DEFAULT_CHANNEL_MODE = "mention"

#: Which logged answers (``a``) were unanswered, in the SQL both backends speak: none shown, or net 👎.
UNANSWERED = "(a.passage_ids = '[]' OR (SELECT COALESCE(SUM(v.vote), 0) FROM votes v WHERE v.answer_id = a.id) < 0)"


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage with the metadata a quote shows."""

    id: int
    article_id: int
    position: int
    start: int
    end: int
    text: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    guild_id: int | None


def content_hash(text: str) -> str:
    """Hash of the text with case, Unicode forms and whitespace normalised."""
    normal = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normal.encode()).hexdigest()


_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl|ref|ref_src|cmpid|ocid|smid|sr_share)$",
    re.IGNORECASE,
)


def normalise_url(url: str | None) -> str | None:
    """The canonical form of a URL for duplicate checks: no tracking parameters, fragment or trailing slash."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    netloc = (parts.hostname or "").lower()
    if port and port != {"http": 80, "https": 443}.get(scheme):
        netloc += f":{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), query, "")) or None


@dataclass(frozen=True, slots=True)
class Feed:
    """A followed RSS or Atom feed and where its polling stands."""

    id: int
    url: str
    title: str | None
    guild_id: int | None
    added_by: str | None
    added_at: str
    next_poll_at: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    last_error: str | None = None
    last_polled_at: str | None = None
    articles: int = 0  # how many articles its entries added

    def to_json(self) -> dict[str, object]:
        """As ``feed list --json`` prints it."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "guild_id": self.guild_id,
            "added_by": self.added_by,
            "added_at": self.added_at,
            "articles": self.articles,
            "last_polled_at": self.last_polled_at,
            "next_poll_at": self.next_poll_at,
            "failures": self.failures,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class SeenEntry:
    """A feed entry a poll has dealt with: what became of it (added, duplicate, refused, failed)."""

    entry_id: str
    link: str | None
    outcome: str
    article_id: int | None
    attempts: int
