"""The core: the one API the command line and the Discord bot call.

:class:`Library` is composed of an article store, a lexical search, a vector search and an
activity log (``index/parts.py``), chosen by ``index/factory.py``. It adds articles (from text,
files, uploads, web pages and imports, through ``corpus/ingest.py``), removes them, and answers
questions from every change any process has committed. It is synchronous and thread-safe: each
change is one transaction of the store, and a rebuild embeds outside any lock, so questions keep
being answered from the old vectors until the new ones are swapped in.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np

from corpus import ingest, nearcopy
from corpus.builtin import builtin_article
from corpus.chunking import Span, chunk_article
from corpus.errors import BadInput, DuplicateArticle, UnknownArticle
from corpus.fetching import AddressPolicy, public_only
from corpus.ingest import Details
from corpus.readers import ImportRow, RowError, article_size_problem, plural
from corpus.records import (
    CHANNEL_MODES,
    DEFAULT_CHANNEL_MODE,
    Article,
    AuditEntry,
    Copy,
    Feed,
    NewArticle,
    StoredPassage,
    content_hash,
    normalise_url,
)
from index.answers import (
    CLAIM_COSINE,
    Answer,
    Candidate,
    Quote,
    claim_holders,
    content_words,
    count_outlets,
    drop_duplicates,
    make_quote,
    mark_best_sentence,
    marked_sentence,
    sentence_scores,
    shaping_words,
    speaker,
    text_sentences,
    unnamed,
    word_coverage,
)
from index.encoder import Encoder, SentenceTransformerEncoder
from index.feeds import DEFAULT_FEED_POLL_MINUTES, FeedFollower, PollReport
from index.followups import followup_query
from index.gaps import GAP_LIMIT, GAP_SCAN, Gap, group_questions
from index.parts import Parts
from index.places import display, mentions
from index.questions import Reading, in_window, published_date, read_question
from index.timeline import TIMELINE_LIMIT, Timeline, in_date_order

log = logging.getLogger(__name__)

#: Below this confidence the best passage does not answer the question (see README, "Abstention").
DEFAULT_MIN_SCORE = 0.95
#: Confidence = fused score + this x the share of the question's words the passage holds (bench/abstention.py).
COVERAGE_WEIGHT = 0.2
#: Confidence is lowered by this x the share of the question's content words that no passage holds.
MISSING_WEIGHT = 0.3
#: ... and by this when one of those words is long enough to be a name, a place or an event ("bolsonaro"), or
#: is a short one the model's vocabulary splits into pieces, as it does initials ("dnc", "cisa").
KEY_MISSING_WEIGHT = 0.2
KEY_LENGTH = 5
#: Once a question is answered, further quotes need at least this fraction of ``min_score``.
QUOTE_FLOOR = 0.5
#: How much BM25 counts beside the cosine in the fused score (chosen on SQuAD v2.0 dev; bench/retrieval.py).
LEXICAL_WEIGHT = 0.4
#: How many of the best fused candidates are re-ranked by their best sentence's marking score.
RERANK = 10
#: How much the marking score's word, neighbour and answer-kind parts count in that re-ranking.
RERANK_WEIGHT = 1.0
#: How much the cosine of the passage's article lede counts (news dev set, tuning half; bench/news.py).
CONTEXT_WEIGHT = 0.3
#: How much an article's first passage counts over its others: a news story's lede says what happened
#: (news dev set, tuning half; no change on the SQuAD v2.0 dev half, whose articles are few and long).
LEDE_WEIGHT = 0.035
#: How much being published in the time a question names counts (twice that for a named day or month).
DATE_WEIGHT = 0.3
#: How much being the newest of the best candidates counts for "latest", "still", "now".
LATEST_WEIGHT = 0.5
#: A question naming a place or a year is answered from the best of this many candidates whose article names it.
PLACE_DEPTH = 20
#: ... names the place in its title, in its opening (about its first passage) or in the quoted passage itself:
#: a story that mentions Britain only in passing is not about Britain.
OPENING_CHARS = 1000
#: At most this many passages' sentence vectors made again are kept (about 8 KB each) until `rebuild`.
REMADE_LIMIT = 4096
#: "Newest" is judged among this many of the best candidates.
LATEST_DEPTH = 20
#: A "latest" answer whose first quote is more than this many days older than the newest article says "as of".
STALE_DAYS = 7
_EPOCH = date(1970, 1, 1)
#: How many candidates each method contributes before fusion.
CANDIDATES = 50
#: The largest file ``add FILE``, ``add -`` and an upload may be, unless the settings say otherwise.
MAX_FILE_BYTES = 2_000_000
#: SQLite's largest integer: no row has a larger id, and a larger one cannot even be looked up.
MAX_ID = 2**63 - 1
_WORD = re.compile(r"\w+")

Progress = Callable[[int, int], None]


def _other_outlets(source: str | None, copies: list[Copy]) -> tuple[str, ...]:
    """The outlets of a story's recorded copies, each once, in the order recorded, without the story's own."""
    seen = {nearcopy.outlet_key(source)}
    shown = []
    for copy in copies:
        key = nearcopy.outlet_key(copy.source)
        if key and key not in seen:
            seen.add(key)
            shown.append(" ".join((copy.source or "").split()))
    return tuple(shown)


def _split_otherwise(text: str, vectors: np.ndarray) -> bool:
    """Whether a passage's stored sentence vectors were split otherwise than ``text_sentences`` splits it.

    Only a passage holding a line break can differ (a blank line now ends a sentence), so most are
    not split again on the question's hot path (about 70 µs a passage when not cached).
    """
    return "\n" in text and len(vectors) != len(text_sentences(text))


def confidence(question: str, candidate: Candidate) -> float:
    """How sure a quote is to answer: its fused score plus the share of the question's words it holds.

    Off-topic questions often find a passage that is close in meaning (an election passage for an
    election question) but rarely one holding their own names and words.
    """
    return candidate.score + COVERAGE_WEIGHT * word_coverage(question, candidate.passage.text)


@dataclass(frozen=True, slots=True)
class AddedArticle:
    """What an add reports back: the new id, its title and how many passages it became.

    ``merged``: the text was another outlet's copy of a stored story (a wire story published
    again): nothing new was stored, ``outlet`` was recorded against that story, article ``id``
    (whose own outlet is ``first_outlet``).
    """

    id: int
    title: str
    passages: int
    replaced: bool = False
    merged: bool = False
    outlet: str | None = None
    first_outlet: str | None = None

    def message(self) -> str:
        """What the command line and the bot say about it, in one sentence (the caller escapes it)."""
        if self.merged:
            first = f" ({self.first_outlet})" if self.first_outlet else ""
            return (
                f"Already have this story as #{self.id}{first}; recorded {self.outlet} as also publishing it"
                f" (merged, not stored again): {self.title}"
            )
        verb = "Replaced" if self.replaced else "Added"
        return f"{verb} article #{self.id} ({plural(self.passages, 'passage')}): {self.title}"


@dataclass(slots=True)
class ImportReport:
    """What a bulk import did."""

    added: int = 0
    passages: int = 0
    duplicates: int = 0
    merged: int = 0  # other outlets' copies of stored stories, recorded against them
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stats:
    """The numbers ``stats`` shows."""

    articles: int
    passages: int
    indexed: int
    model: str
    data_dir: str
    generation: int

    def to_json(self) -> dict[str, object]:
        """As ``stats --json`` prints it."""
        return {
            "articles": self.articles,
            "passages": self.passages,
            "index_size": self.indexed,
            "model": self.model,
            "data_dir": self.data_dir,
            "generation": self.generation,
        }


class Library:
    """The core API: add, remove and find articles, answer questions, look after the data.

    It is composed of four parts (``index/parts.py``), chosen by :mod:`index.factory`; open one
    with :meth:`open`.
    """

    def __init__(
        self,
        parts: Parts,
        encoder: Encoder,
        *,
        data_dir: Path,
        min_score: float = DEFAULT_MIN_SCORE,
        max_file_bytes: int = MAX_FILE_BYTES,
        address_policy: AddressPolicy = public_only,
        feed_poll_minutes: float = DEFAULT_FEED_POLL_MINUTES,
    ) -> None:
        """Use ``parts``; the model loads when first needed."""
        self.parts = parts
        self.store, self.lexical, self.vectors, self.activity = (
            parts.store,
            parts.lexical,
            parts.vectors,
            parts.activity,
        )
        self.encoder = encoder
        self.data_dir = data_dir
        self.min_score = min_score
        self.max_file_bytes = max_file_bytes
        self.address_policy = address_policy
        self.feed_poll_minutes = feed_poll_minutes
        self.feeds = FeedFollower(self)
        # Where a question's lexical search runs beside its vector search (_ranked). One thread is
        # enough: the lexical searches of concurrent questions share one connection anyway.
        self._beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lexical")
        self._dates: tuple[int, frozenset[tuple[int, int]], date | None] = (-1, frozenset(), None)
        # Sentence vectors made again for passages stored without them, or split otherwise, until `rebuild`:
        # made once per process, not at every question (ids are never reused, and a passage never changes).
        self._remade: dict[int, np.ndarray] = {}
        self._remade_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        encoder: Encoder | None = None,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        max_file_bytes: int = MAX_FILE_BYTES,
        address_policy: AddressPolicy = public_only,
        database_url: str | None = None,
        feed_poll_minutes: float = DEFAULT_FEED_POLL_MINUTES,
    ) -> Library:
        """Open the data directory (creating it), with the built-in article the first time it is used.

        With a ``postgresql://`` ``database_url`` the articles are kept in that database instead.
        """
        from index.factory import open_parts

        encoder = encoder or SentenceTransformerEncoder()
        library = cls(
            open_parts(data_dir, encoder, database_url),
            encoder,
            data_dir=data_dir,
            min_score=min_score,
            max_file_bytes=max_file_bytes,
            address_policy=address_policy,
            feed_poll_minutes=feed_poll_minutes,
        )
        try:
            indexed = library.store.index_near_copies()
            if indexed:
                log.info("made the near-copy band hashes of %d articles (corpus/nearcopy.py)", indexed)
            library._ensure_builtin()
        except BaseException:
            library.close()
            raise
        return library

    def close(self) -> None:
        """Close the database (and the vector search's own connection, where it has one)."""
        self._beside.shutdown()
        self.parts.close()

    def _ensure_builtin(self) -> None:
        """Add the built-in article the first time a data directory is used."""
        if self.store.get_meta("builtin_added") is None:
            article = builtin_article()
            # A kill between the add and the marker must not add it twice; a later removal must stick.
            if self.store.find_duplicate(article.text, None, None) is None:
                self.vectors.catch_up()  # an empty index first, so the add extends it rather than rebuilding
                self._add(article, self._chunk(article))
            self.store.set_meta("builtin_added", "1")

    # -- changes ----------------------------------------------------------------------

    def _chunk(self, article: NewArticle) -> list[Span]:
        if not article.text.strip():
            raise BadInput("the article text is empty")
        if not article.title.strip():
            raise BadInput("the article needs a title")
        too_long = article_size_problem(article)
        if too_long:  # before chunking, which takes seconds a megabyte
            raise BadInput(too_long)
        spans = chunk_article(article.text, self.encoder.count_tokens, title=article.title)
        if not spans:
            raise BadInput("the text has no passages to quote: it is too short or only page furniture")
        return spans

    def _embed(self, texts: list[str], batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, for each passage, its sentences' vectors (for marking the answer)."""
        splits = [[(s.start, s.end) for s in text_sentences(text)] for text in texts]
        return self.encoder.encode_passages(texts, splits, batch_size=batch_size)

    def _add(self, article: NewArticle, spans: list[Span]) -> AddedArticle:
        """Embed and store one chunked article, then index it; the caller vets duplicates."""
        vectors, sentence_vectors = self._embed([s.text for s in spans])
        [(article_id, _)] = self.store.add_articles([(article, spans, vectors, sentence_vectors)], self.encoder.name)
        self.vectors.commit()
        return AddedArticle(article_id, article.title, len(spans))

    def add_article(self, article: NewArticle, *, replace: bool = False) -> AddedArticle:
        """Add one article; refuse empty text, text with nothing quotable and duplicates.

        With ``replace``, an article with the same URL or text that belongs to the same
        server is updated in place instead: new passages in, old ones out, in one transaction.
        """
        spans = self._chunk(article)  # cheap checks before the duplicate look-up
        duplicate = self.store.find_duplicate(article.text, article.url, article.guild_id)
        if duplicate is not None:
            existing = self.store.get_article(duplicate, article.guild_id)
            if replace and existing is not None and existing.guild_id == article.guild_id:
                return self._replace(existing.id, article, spans)
            if not replace and existing is not None and self._new_outlet(existing, article):
                return self._record_copy(existing, article, 1.0)
            raise DuplicateArticle(duplicate)
        near = self.find_near_copy(article, spans)
        if near is None:
            return self._add(article, spans)
        existing, similarity = near
        if self._new_outlet(existing, article):
            return self._record_copy(existing, article, similarity)
        if replace and existing.guild_id == article.guild_id:
            return self._replace(existing.id, article, spans)
        raise DuplicateArticle(existing.id, near=True)

    def _replace(self, article_id: int, article: NewArticle, spans: list[Span]) -> AddedArticle:
        vectors, sentence_vectors = self._embed([s.text for s in spans])
        self.store.replace_article(article_id, (article, spans, vectors, sentence_vectors), self.encoder.name)
        self.vectors.commit()
        return AddedArticle(article_id, article.title, len(spans), replaced=True)

    def find_near_copy(self, article: NewArticle, spans: list[Span]) -> tuple[Article, float] | None:
        """The stored story ``article`` copies (another outlet's copy of it), and their Jaccard similarity.

        Candidates share a MinHash band with the article's quotable text (corpus/nearcopy.py);
        each is then compared exactly, shingle set against shingle set, with its stored passages.
        The most similar copy wins; an updated story or a different one is not a copy.
        """
        text = nearcopy.quotable_text(spans)
        best: tuple[Article, float] | None = None
        for candidate in self.store.near_copy_candidates(nearcopy.bands(text), article.guild_id):
            stored = self.store.get_article(candidate, article.guild_id)
            if stored is None:
                continue
            found = nearcopy.resemblance(text, nearcopy.quotable_text(self.store.article_passages(candidate)))
            if found.is_copy and (best is None or found.jaccard > best[1]):
                best = (stored, found.jaccard)
        return best

    def _new_outlet(self, existing: Article, article: NewArticle) -> bool:
        """Whether ``article`` names an outlet that the stored story does not carry yet (and is not its page)."""
        if not (article.source or "").strip():
            return False  # a copy of unknown origin adds no outlet
        copies = self.store.copies([existing.id], article.guild_id).get(existing.id, [])
        url = normalise_url(article.url)
        if url is not None and url in {existing.url, *(c.url for c in copies)}:
            return False  # the same page again, whatever it is called
        known = [existing.source, *(c.source for c in copies)]
        return not any(nearcopy.same_outlet(article.source, outlet) for outlet in known)

    def _record_copy(self, existing: Article, article: NewArticle, similarity: float) -> AddedArticle:
        self.store.record_copy(existing.id, article, similarity)
        return AddedArticle(
            existing.id,
            existing.title,
            existing.passage_count,
            merged=True,
            outlet=article.source,
            first_outlet=existing.source,
        )

    def copies(self, article_id: int, *, guild_id: int | None = None) -> list[Copy]:
        """The other outlets' copies recorded against an article, as ``guild_id`` sees them."""
        return self.store.copies([article_id], guild_id).get(article_id, [])

    def add_text(self, text: str, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add pasted text (its first line suggests the title)."""
        return self.add_article(ingest.from_text(text, details), replace=replace)

    def add_stream(self, stream: BinaryIO, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add the text read from a stream (standard input), up to the file size limit."""
        return self.add_article(ingest.from_stream(stream, details, max_bytes=self.max_file_bytes), replace=replace)

    def add_file(self, path: Path, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add a .txt, .md or .html file."""
        return self.add_article(ingest.from_file(path, details, max_bytes=self.max_file_bytes), replace=replace)

    def check_upload(self, name: str, size: int) -> None:
        """Refuse an upload by its name and declared size, before it is downloaded."""
        ingest.check_upload(name, size, max_bytes=self.max_file_bytes)

    def add_upload(self, name: str, data: bytes, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add an uploaded .txt, .md or .html file's bytes."""
        article = ingest.from_upload(name, data, details, max_bytes=self.max_file_bytes)
        return self.add_article(article, replace=replace)

    def add_url(self, url: str, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add the article of a web page; a page this server already has is refused before fetching."""
        if not replace:
            found = self.store.find_duplicate("", url, details.guild_id)
            if found is not None:
                raise DuplicateArticle(found)
        return self.add_article(ingest.from_url(url, details, policy=self.address_policy), replace=replace)

    def add(self, source: str, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add from a web address or a file path, whichever ``source`` is."""
        if ingest.is_web_address(source):
            return self.add_url(source, details, replace=replace)
        return self.add_file(Path(source), details, replace=replace)

    def import_articles(
        self, rows: Iterable[ImportRow], *, progress: Callable[[int], None] | None = None, batch_size: int = 32
    ) -> ImportReport:
        """Add many articles in batches (one transaction each); skip duplicates, merge wire copies, collect bad rows.

        A row that is another outlet's copy of a stored story (or of an earlier row) is recorded
        against it, as ``add_article`` does.
        """
        report = ImportReport()
        seen_hashes: set[str] = set()
        seen_urls: set[str] = set()
        batch: list[tuple[NewArticle, list[Span]]] = []
        pending_bands: set[tuple[int, int]] = set()  # of the rows not stored yet, to catch copies among them

        def flush() -> None:
            if not batch:
                return
            texts = [s.text for _, spans in batch for s in spans]
            vectors, sentence_vectors = self._embed(texts)
            parts, offset = [], 0
            for article, spans in batch:
                end = offset + len(spans)
                parts.append((article, spans, vectors[offset:end], sentence_vectors[offset:end]))
                offset = end
            self.store.add_articles(parts, self.encoder.name)
            self.vectors.catch_up()
            report.added += len(batch)
            report.passages += len(texts)
            batch.clear()
            pending_bands.clear()

        try:
            for row in rows:
                if progress:
                    progress(1)
                if isinstance(row, RowError):
                    report.errors.append(row)
                    continue
                line, article = row
                url = normalise_url(article.url)
                digest = content_hash(article.text)
                if digest in seen_hashes or (url and url in seen_urls):
                    flush()  # a copy of a row not stored yet: store that row first, then judge this one
                duplicate = self.store.find_duplicate(article.text, article.url, article.guild_id)
                if duplicate is not None:
                    existing = self.store.get_article(duplicate, article.guild_id)
                    if existing is not None and self._new_outlet(existing, article):
                        self._record_copy(existing, article, 1.0)
                        report.merged += 1
                    else:
                        report.duplicates += 1
                    continue
                try:
                    spans = self._chunk(article)
                except BadInput as exc:
                    report.errors.append(RowError(line, str(exc)))
                    continue
                bands = set(nearcopy.bands(nearcopy.quotable_text(spans)))
                if bands & pending_bands:
                    flush()
                near = self.find_near_copy(article, spans)
                if near is not None:
                    if self._new_outlet(near[0], article):
                        self._record_copy(near[0], article, near[1])
                        report.merged += 1
                    else:
                        report.duplicates += 1
                    continue
                seen_hashes.add(digest)
                if url:
                    seen_urls.add(url)
                pending_bands.update(bands)
                batch.append((article, spans))
                if len(batch) >= batch_size:
                    flush()
            flush()
        finally:
            self.vectors.commit()
        return report

    def remove_article(self, article_id: int, *, guild_id: int | None = None) -> Article:
        """Remove an article that belongs to ``guild_id`` (None: a global one); it is never quoted again."""
        if not 0 < article_id <= MAX_ID:
            raise UnknownArticle(article_id)
        existing = self.store.get_article(article_id, guild_id)
        if existing is not None and existing.guild_id != guild_id:
            raise BadInput(f"article #{article_id} is shared by every server; only the bot's operator can remove it")
        removed = self.store.remove_article(article_id, guild_id)
        if removed is None:
            raise UnknownArticle(article_id)
        self.vectors.commit()
        return removed[0]

    def rebuild(self, progress: Progress | None = None, *, batch_size: int = 32) -> int:
        """Re-embed every passage; the new index replaces the old only when complete."""
        rows = self.store.all_passage_texts()
        ids = np.asarray([pid for pid, _ in rows], dtype=np.int64)
        vectors = np.empty((len(rows), self.encoder.dim), dtype=np.float32)
        sentence_vectors: list[np.ndarray] = []
        step = batch_size * 8  # several batches per call, so the encoder can group passages by length
        for start in range(0, len(rows), step):
            chunk = [text for _, text in rows[start : start + step]]
            vectors[start : start + len(chunk)], more = self._embed(chunk, batch_size)
            sentence_vectors.extend(more)
            if progress:
                progress(start + len(chunk), len(rows))
        self.store.replace_embeddings(ids, vectors, sentence_vectors, self.encoder.name)
        # Passages added meanwhile, here or elsewhere, already carry embeddings: take the store's full set.
        self.vectors.reload()
        return len(rows)

    # -- feeds ------------------------------------------------------------------------

    def follow_feed(self, url: str, *, guild_id: int | None = None, added_by: str | None = None) -> Feed:
        """Follow an RSS or Atom feed for a server (fetched and read once now, to refuse what is not a feed)."""
        return self.feeds.follow(url, guild_id=guild_id, added_by=added_by, now=datetime.now(UTC))

    def unfollow_feed(self, feed_id: int, *, guild_id: int | None = None, everywhere: bool = False) -> Feed:
        """Stop following one of the server's feeds (any feed, ``everywhere``); its articles stay."""
        return self.feeds.unfollow(feed_id, guild_id=guild_id, everywhere=everywhere)

    def list_feeds(self, *, guild_id: int | None = None, everywhere: bool = False) -> list[Feed]:
        """The feeds a server follows (every feed, ``everywhere``)."""
        return self.feeds.list_feeds(guild_id=guild_id, everywhere=everywhere)

    def poll_feeds(
        self,
        now: datetime | None = None,
        *,
        force: bool = False,
        actor: str = "feed poller",
        stop: threading.Event | None = None,
    ) -> PollReport:
        """Poll the feeds that are due (every feed, ``force``) once; each new entry is added like ``add URL``.

        ``stop`` ends the poll after the entry in hand (the bot sets it when it shuts down).
        """
        every = timedelta(minutes=self.feed_poll_minutes)
        return self.feeds.poll(now or datetime.now(UTC), every=every, force=force, actor=actor, stop=stop)

    # -- questions --------------------------------------------------------------------

    def candidates(
        self, question: str, query: np.ndarray, wanted: int, guild_id: int | None, reading: Reading | None = None
    ) -> list[Candidate]:
        """The ``wanted`` best candidates of the dense and lexical ones fused, de-duplicated, best first.

        fused = (cosine of the passage's sentence nearest the question)
                + LEXICAL_WEIGHT x BM25 / (this question's best BM25).
        The candidates are the FAISS top 50 (by whole-passage cosine) and the BM25 top 50; a
        passage only one side found scores 0 on the other's part only for BM25. A question is
        usually answered by one sentence, so the nearest sentence ranks better than the whole
        passage (bench/retrieval.py: the weights were chosen on SQuAD v2.0 dev).
        """
        return drop_duplicates(self._ranked(question, query, wanted, guild_id, reading), wanted)

    def _ranked(
        self, question: str, query: np.ndarray, wanted: int, guild_id: int | None, reading: Reading | None = None
    ) -> list[Candidate]:
        """Every candidate of the dense and lexical searches, fused and re-ranked, best first (see ``candidates``)."""
        depth = max(CANDIDATES, wanted * 4)
        # The two searches wait on different things (FAISS or the vector connection, the database), so
        # the lexical one runs beside the vector one (bench/scale_backends.py: ask at 300,000 passages).
        words = self._beside.submit(self.lexical.search, question, depth, guild_id)
        try:
            dense = dict(self.vectors.search(query, depth, guild_id))
        except BaseException:
            wait([words])  # nothing of a failed question goes on running
            raise
        lexical = dict(words.result())
        # Looked up once more: an article removed meanwhile by another process is not quoted.
        found = self.store.visible_passages(dense.keys() | lexical.keys(), guild_id)
        sentences = self._sentence_vectors(list(found.values()))
        best_lexical = max(lexical.values(), default=0.0) or 1.0
        fused = []
        for pid, passage in found.items():
            similarity = sentences[pid] @ query
            nearest = float(similarity.max())
            score = nearest + LEXICAL_WEIGHT * lexical.get(pid, 0.0) / best_lexical
            fused.append(Candidate(passage, score, nearest, lexical.get(pid, 0.0), sentences[pid]))
        fused = self._in_context(query, fused, reading)
        fused.sort(key=lambda c: c.score, reverse=True)
        actor = (reading.actor, reading.verb) if reading is not None and reading.actor else None
        return self._rerank(question, query, fused, actor)

    def _in_context(self, query: np.ndarray, fused: list[Candidate], reading: Reading | None) -> list[Candidate]:
        """Add what the passage's article says about it: how close its lede is, and when it was published.

        A passage is read in its article: + CONTEXT_WEIGHT x the cosine of the article's first
        passage (what the story is about), and that first passage, the lede, + LEDE_WEIGHT. A time
        in the question favours articles published then (+ DATE_WEIGHT, more for a named day or
        month); "latest", "still", "now" favour the newest of the candidates, in proportion to their
        dates (+ LATEST_WEIGHT for the newest). Weights chosen on the tuning half of the news
        development set (bench/news.py).
        """
        ledes = self.store.lede_vectors({c.passage.article_id for c in fused}, self.encoder.name)
        boost = np.asarray(
            [float(ledes[c.passage.article_id] @ query) if c.passage.article_id in ledes else 0.0 for c in fused]
        )
        boost *= CONTEXT_WEIGHT
        boost += LEDE_WEIGHT * np.asarray([c.passage.position == 0 for c in fused])
        if reading is not None and reading.window is not None:
            weight = DATE_WEIGHT * (2 if reading.window.exact else 1)
            boost += [weight * in_window(c.passage.published, reading.window) for c in fused]
        elif reading is not None and reading.latest and fused:
            days = np.asarray([(published_date(c.passage.published) or _EPOCH).toordinal() for c in fused], dtype=float)
            head = np.argsort([-c.score for c in fused])[:LATEST_DEPTH]
            low, high = days[head].min(), days[head].max()
            if high > low:
                boost += LATEST_WEIGHT * np.clip((days - low) / (high - low), 0, 1)
        return [replace(c, score=c.score + float(b)) for c, b in zip(fused, boost, strict=True)]

    def _rerank(
        self, question: str, query: np.ndarray, fused: list[Candidate], actor: tuple[str, str | None] | None = None
    ) -> list[Candidate]:
        """Re-rank the best ``RERANK`` candidates by their best sentence, and choose the one to mark.

        Their nearest-sentence cosine is replaced by the best sentence's whole marking score
        (cosine + RERANK_WEIGHT x its word, neighbour and answer-kind parts), so the passage
        whose best sentence answers best comes first (bench/retrieval.py: chosen on SQuAD v2.0
        dev). The marked sentence is that one, unless a quotation or a number asked for lies in
        another (``marked_sentence``).
        """
        head = []
        for candidate in fused[:RERANK]:
            spans = text_sentences(candidate.passage.text)
            marking = sentence_scores(question, query, spans, candidate.sentences, RERANK_WEIGHT, actor)
            score = candidate.score - candidate.cosine + float(marking.max())
            head.append(replace(candidate, score=score, marked=marked_sentence(question, spans, marking)))
        head.sort(key=lambda c: c.score, reverse=True)
        return head + fused[RERANK:]

    def _sentence_vectors(self, passages: list[StoredPassage]) -> dict[int, np.ndarray]:
        """Each passage's sentence vectors, as stored; a passage stored without them has them made now.

        So does one whose stored vectors were split otherwise (before a blank line ended a
        sentence), once per process (up to REMADE_LIMIT passages). `rebuild` stores them for every
        passage.
        """
        stored = self.store.sentence_vectors([p.id for p in passages], self.encoder.name)
        missing = [p for p in passages if p.id not in stored or _split_otherwise(p.text, stored[p.id])]
        with self._remade_lock:
            remade = {p.id: self._remade[p.id] for p in missing if p.id in self._remade}
        stored.update(remade)
        missing = [p for p in missing if p.id not in remade]
        if missing:
            _, made = self._embed([p.text for p in missing])
            stored.update(zip([p.id for p in missing], made, strict=True))
            with self._remade_lock:
                if len(self._remade) + len(missing) > REMADE_LIMIT:
                    self._remade.clear()
                self._remade.update(zip([p.id for p in missing], made, strict=True))
        return stored

    def read(self, question: str) -> Reading:
        """The question read against this collection's dates (see index/questions.py)."""
        generation = self.store.generation()
        if self._dates[0] != generation:
            dates = [d for d in map(published_date, self.store.publication_dates()) if d is not None]
            self._dates = (generation, frozenset((d.year, d.month) for d in dates), max(dates, default=None))
        return read_question(question, self._dates[1], self._dates[2])

    def ask(
        self, question: str, *, k: int = 3, offset: int = 0, guild_id: int | None = None, previous: str | None = None
    ) -> Answer:
        """Quote the ``k`` passages that best answer ``question`` (after skipping ``offset``).

        ``previous`` is the question asked before it in the conversation: a question that leans on
        it ("what about russia?") is searched with its subject carried over (index/followups.py).
        """
        question = " ".join(question.split())
        if not question:
            raise BadInput("the question is empty")
        if k < 1:
            raise BadInput("ask for at least one quote")
        reading = self.read(followup_query(question, previous))
        searched = self.spelled(reading.text)
        query = self.encoder.encode([reading.text])[0]
        pool = self._ranked(searched, query, offset + k, guild_id, reading)
        found = drop_duplicates(pool, offset + k)
        unmentioned: list[str] = []
        if found and (reading.places or reading.years):
            found, unmentioned = self._mentioning(reading, pool, offset + k)
        missing, penalty = self._missing(searched)
        absent = self._absent_actor(reading, searched, missing)
        if not found or absent or confidence(searched, found[0]) - penalty < self.min_score:
            named = absent or self._names(missing, others=bool(unmentioned))
            return Answer(question, answered=False, missing=named, unmentioned=unmentioned)
        chosen = [
            c for c in found[offset : offset + k] if confidence(searched, c) - penalty >= self.min_score * QUOTE_FLOOR
        ]
        copies = self.store.copies({c.passage.article_id for c in chosen}, guild_id)
        marks = [c.marked or self.mark(c.passage, searched, query, c.sentences) for c in chosen]
        outlets = self._corroboration(chosen, marks, pool)
        quotes = [
            make_quote(
                c.passage,
                c.score,
                marked,
                also_published=_other_outlets(c.passage.source, copies.get(c.passage.article_id, [])),
                independent_outlets=count,
            )
            for c, marked, count in zip(chosen, marks, outlets, strict=True)
        ]
        as_of, present = self._as_of(reading, quotes)
        return Answer(question, answered=True, quotes=quotes, as_of=as_of, present=present)

    @staticmethod
    def _absent_actor(reading: Reading, searched: str, missing: list[str]) -> list[str]:
        """The words naming the one the question asks about acting when no article holds any of them, else none.

        X of "who did X blame", "what did X say": no quote can say what someone no article names did.
        """
        actor = reading.named_actor or speaker(searched)
        return unnamed(actor, missing) if actor is not None else []

    def _mentioning(self, reading: Reading, pool: list[Candidate], wanted: int) -> tuple[list[Candidate], list[str]]:
        """The best candidates whose article names every place and year the question names, and what is unnamed.

        Up to ``wanted`` candidates, looked for among the best PLACE_DEPTH (or ``wanted``): "who won
        the mexican election" is not answered from a U.S. story that matches its other words well,
        though some article far down may mention Mexico in passing. A place counts when the
        article's title or opening (OPENING_CHARS) or the passage itself names it: "did china hack
        the uk election" is not answered from a U.S. story with a London dateline in its last
        paragraph. A year counts when the article holds it or was published then. With none, the
        places and years none of those articles names, for the refusal (none when each is named
        somewhere, only never together).
        """
        looked = drop_duplicates(pool, max(PLACE_DEPTH, wanted))
        texts = self.store.article_texts({c.passage.article_id for c in looked})
        seen: set[str] = set()
        kept = []
        for candidate in looked:
            article_id = candidate.passage.article_id
            if article_id not in texts:  # removed meanwhile by another process
                continue
            passage = candidate.passage
            about = f"{passage.title}\n{texts[article_id][:OPENING_CHARS]}\n{passage.text}"
            held = {p for p in reading.places if mentions(about, p)}  # the question's places it names
            published = passage.published or ""
            held |= {y for y in reading.years if y in texts[article_id] or published.startswith(y)}
            seen |= held
            if len(held) == len(reading.places) + len(reading.years):
                kept.append(candidate)
        if kept:
            return kept[:wanted], []
        return [], [display(p) for p in reading.places if p not in seen] + [y for y in reading.years if y not in seen]

    def _as_of(self, reading: Reading, quotes: list[Quote]) -> tuple[str | None, str | None]:
        """For a "latest" question: the first quote's date and the present, when it is over STALE_DAYS old.

        The first quote is the one ranked as the newest state of the story; the present is the
        newest article's date, over all articles.
        """
        present = self._dates[2]
        first = published_date(quotes[0].published) if quotes else None
        if not reading.latest or present is None or first is None or (present - first).days <= STALE_DAYS:
            return None, None
        return first.isoformat(), present.isoformat()

    def _missing(self, searched: str) -> tuple[list[str], float]:
        """The question's words no article holds, and how much they lower the confidence of every quote.

        Often the missing word is the name the question is about; "many" of "how many" is not (a
        small collection may not hold it).
        """
        shaping = shaping_words(searched)
        missing = [w for w in self.lexical.missing_words(searched) if w not in shaping]
        penalty = MISSING_WEIGHT * len(missing) / max(1, len(content_words(searched)))
        penalty += KEY_MISSING_WEIGHT * any(
            w.isalpha() and (len(w) >= KEY_LENGTH or self.encoder.count_tokens(w) > 1) for w in missing
        )
        return missing, penalty

    def timeline(self, topic: str, *, guild_id: int | None = None, limit: int = TIMELINE_LIMIT) -> Timeline:
        """The articles that matter on ``topic``, oldest first, each quoted by its passage nearest the topic.

        The same retrieval as ``ask``; an article is on the timeline when its best passage clears
        the bar of a first quote (``min_score``): asked as a question, the topic would be answered
        by it. The lower bar of further quotes let in passages that only share a word ("net" for
        "net neutrality"). A time the topic names ("in november") keeps the articles published
        then, unless none was.
        """
        topic = " ".join(topic.split())
        if not topic:
            raise BadInput("the topic is empty")
        if not 1 <= limit <= TIMELINE_LIMIT:
            raise BadInput(f"a timeline shows 1 to {TIMELINE_LIMIT} articles")
        reading = self.read(topic)
        searched = self.spelled(reading.text)
        query = self.encoder.encode([reading.text])[0]
        found = self.candidates(searched, query, CANDIDATES, guild_id, replace(reading, latest=False))
        missing, penalty = self._missing(searched)
        best: dict[int, Candidate] = {}
        for c in found:
            if c.passage.article_id not in best and confidence(searched, c) - penalty >= self.min_score:
                best[c.passage.article_id] = c
        if not best:
            return Timeline(topic, missing=self._names(missing))
        chosen = list(best.values())
        if reading.window is not None:
            chosen = [c for c in chosen if in_window(c.passage.published, reading.window)] or chosen
        quotes = [
            make_quote(c.passage, c.score, c.marked or self.mark(c.passage, searched, query, c.sentences))
            for c in chosen[:limit]
        ]
        return Timeline(topic, in_date_order(quotes))

    def _corroboration(self, chosen: list[Candidate], marks: list[Span], pool: list[Candidate]) -> list[int]:
        """For each quote, how many independent outlets carry its marked sentence's claim (index/answers.py).

        The marked sentences and each other article's closest sentence are read by the model on
        their own, in one batch; a cosine of at least CLAIM_COSINE holds the claim.
        """
        holders = [claim_holders(c, marked, pool) for c, marked in zip(chosen, marks, strict=True)]
        texts = [m.text for m in marks] + [text for found in holders for _, _, text in found]
        vectors = self.encoder.encode(texts) if any(holders) else np.empty((0, 0))
        counts, at = [], len(marks)
        for i, (c, found) in enumerate(zip(chosen, holders, strict=True)):
            agreeing = []
            for article_id, source, _ in found:
                if float(vectors[at] @ vectors[i]) >= CLAIM_COSINE:
                    agreeing.append((article_id, source))
                at += 1
            counts.append(count_outlets((c.passage.article_id, c.passage.source), agreeing))
        return counts

    def _names(self, missing: list[str], *, others: bool = False) -> list[str]:
        """Which of the words no article holds to name in a refusal: the rare ones, or the only one.

        A word the model's vocabulary splits into pieces is rare ("bolsonaro"); a common word
        ("results") missing beside it is not what the question is about, nor is a lone common word
        when the question names a place or year the closest articles lack (``others``): "who won
        the 2024 election" is refused for 2024, not for "won".
        """
        rare = [w for w in missing if self.encoder.count_tokens(w) > 1]
        return rare or (missing if len(missing) == 1 and not others else [])

    def spelled(self, question: str) -> str:
        """The question with misspelt words replaced by the closest terms the articles hold, for searching.

        Only the lexical search and the word counts use it; the model reads the question as typed,
        since a "fix" may also turn a real word the articles lack into another.
        """
        fixes = self.lexical.spelling_fixes(question)
        return _WORD.sub(lambda m: fixes.get(m.group().casefold(), m.group()), question) if fixes else question

    def mark(self, passage: StoredPassage, question: str, query: np.ndarray, vectors: np.ndarray | None = None) -> Span:
        """The sentence of ``passage`` that best answers the question, as ``ask`` marks it."""
        spans = text_sentences(passage.text)
        if vectors is None:
            vectors = self._sentence_vectors([passage])[passage.id]
        return mark_best_sentence(question, query, spans, vectors)

    # -- looking after it -------------------------------------------------------------

    def record_action(
        self,
        *,
        actor: str,
        guild_id: int | None,
        action: str,
        target: str | None,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Add a moderator or admin action to the audit log."""
        self.activity.log_action(
            guild_id=guild_id, actor=actor, action=action, target=target, outcome=outcome, detail=detail
        )

    def set_channel_mode(self, *, guild_id: int, channel_id: int, mode: str, actor: str) -> None:
        """Set how the bot listens in a channel: ``auto``, ``mention`` or ``off`` (the shells audit it)."""
        if mode not in CHANNEL_MODES:
            raise BadInput(f"a channel's mode is one of {', '.join(CHANNEL_MODES)}")
        if not 0 < channel_id <= MAX_ID or not 0 < guild_id <= MAX_ID:
            raise BadInput("give the ids of a channel and its server")
        self.activity.set_channel_mode(guild_id, channel_id, mode, actor)

    def channel_mode(self, channel_id: int) -> str:
        """How the bot listens in a channel: what an admin set, else ``mention``."""
        return self.activity.channel_modes(None, channel_id).get(channel_id, DEFAULT_CHANNEL_MODE)

    def channel_modes(self, *, guild_id: int | None) -> dict[int, str]:
        """The modes admins set in a server (every server's when None), by channel id."""
        return self.activity.channel_modes(guild_id)

    def remember_thread(self, thread_id: int, *, guild_id: int | None, channel_id: int | None, question: str) -> None:
        """Record a thread the bot started, or the latest question asked in it."""
        self.activity.remember_thread(thread_id, guild_id, channel_id, question)

    def thread_question(self, thread_id: int) -> str | None:
        """The latest question of a thread the bot started; None when the bot did not start it."""
        return self.activity.thread_question(thread_id)

    def audit_log(self, *, guild_id: int | None, limit: int = 50, everywhere: bool = False) -> list[AuditEntry]:
        """The latest recorded actions, newest first."""
        return self.activity.audit_log(guild_id, limit=limit, everywhere=everywhere)

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the database to ``target`` while everything keeps running."""
        self.store.backup_to(target)

    # -- feedback ---------------------------------------------------------------------

    def gaps(
        self, *, guild_id: int | None, days: int = 30, everywhere: bool = False, limit: int = GAP_LIMIT
    ) -> list[Gap]:
        """What members of a server (or everywhere) asked in the last ``days`` and did not get, most asked first.

        A question counts when it was refused or its answer got more 👎 than 👍; questions asking
        the same thing in other words are grouped (index/gaps.py).
        """
        if not 1 <= days <= 3650:
            raise BadInput("give a period of 1 to 3650 days")
        if not 1 <= limit <= 100:
            raise BadInput("show 1 to 100 gaps")
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        questions = self.activity.unanswered(guild_id, since, limit=GAP_SCAN, everywhere=everywhere)
        if not questions:
            return []
        vectors = self.encoder.encode([q.question for q in questions])
        return group_questions(questions, vectors)[:limit]

    def log_answer(self, answer: Answer, *, guild_id: int | None, user_id: str | None) -> int:
        """Remember an answer that was shown, for "More sources" and votes; return its id."""
        return self.activity.log_answer(guild_id, user_id, answer.question, [q.passage_id for q in answer.quotes])

    def more_sources(self, answer_id: int, *, guild_id: int | None, k: int = 3) -> Answer:
        """The next ``k`` quotes after those a logged answer showed, within the same server."""
        logged = self._logged_answer(answer_id, guild_id)
        _, question, shown = logged
        return self.ask(question, k=k, offset=len(shown), guild_id=guild_id)

    def open_thread(self, answer_id: int, thread_id: int, *, guild_id: int | None, channel_id: int | None) -> str:
        """Remember a thread opened from a logged answer of this server, with its question (returned)."""
        _, question, _ = self._logged_answer(answer_id, guild_id)
        self.remember_thread(thread_id, guild_id=guild_id, channel_id=channel_id, question=question)
        return question

    def record_vote(self, answer_id: int, *, guild_id: int | None, user_id: str, vote: int) -> None:
        """Record 👍 (+1) or 👎 (-1) from one person on an answer logged in the same server."""
        self._logged_answer(answer_id, guild_id)
        self.activity.record_vote(answer_id, user_id, vote)

    def _logged_answer(self, answer_id: int, guild_id: int | None) -> tuple[int | None, str, list[int]]:
        """A logged answer of this server; another server's, or an id no answer can have, is "no longer known"."""
        logged = self.activity.logged_answer(answer_id) if 0 < answer_id <= MAX_ID else None
        if logged is None or logged[0] != guild_id:
            raise BadInput("that answer is no longer known")
        return logged

    # -- reading ----------------------------------------------------------------------

    def list_articles(self, *, guild_id: int | None = None) -> list[Article]:
        """Every article visible to ``guild_id``."""
        return self.store.list_articles(guild_id)

    def count_articles(self, *, guild_id: int | None = None) -> int:
        """How many articles ``guild_id`` sees."""
        return self.store.count_articles(guild_id)

    def get_article(self, article_id: int, *, guild_id: int | None = None) -> tuple[Article, list[StoredPassage]]:
        """An article visible to ``guild_id`` with its passages."""
        article = self.store.get_article(article_id, guild_id) if 0 < article_id <= MAX_ID else None
        if article is None:
            raise UnknownArticle(article_id)
        return article, self.store.article_passages(article_id)

    def counts(self) -> tuple[int, int]:
        """(articles, passages) of every server."""
        return self.store.counts()

    def stats(self) -> Stats:
        """Counts, the model and where the data lives."""
        indexed = self.vectors.size()
        articles, passages = self.store.counts()
        return Stats(articles, passages, indexed, self.encoder.name, str(self.data_dir), self.store.generation())
