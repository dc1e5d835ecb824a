"""The embedded vector search: a FAISS index in files beside the database, a cache of its embeddings.

The database is the truth; the FAISS files only save re-reading every embedding at start-up.
Every process that has the data directory open (the bot, a CLI command, another bot) holds its
own copy in memory and, before each search and each save, takes in every change committed since
from the store's change log. A saved index names the generation and the database (lineage) it
reflects, is written only over an older one, and is rebuilt from the stored embeddings (never
re-embedded) whenever it cannot be trusted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from corpus.errors import BadInput
from index.parts import ArticleStore, VectorSearch
from index.vectors import FlatIndex, IndexUnusable, build_index, load_index, needs_rebuild, save_index

log = logging.getLogger(__name__)

#: Past this many re-embedded passages since the index was current, reading every embedding is cheaper.
RELOAD_AT = 1000


class FaissSearch:
    """Nearest passages by cosine, from an in-memory FAISS index kept current with the article store."""

    def __init__(self, data_dir: Path, store: ArticleStore, *, model: str, dim: Callable[[], int]) -> None:
        """Search the embeddings ``model`` made in ``store``; ``dim()`` is asked only for an empty index."""
        self.data_dir, self.store, self.model, self._dim = data_dir, store, model, dim
        self._index: FlatIndex | None = None
        self._generation = 0  # the store generation the index reflects
        self._lock = threading.RLock()  # FAISS may not be searched while another thread changes it

    def search(self, vector: np.ndarray, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` nearest passages ``guild_id`` may see, searching deeper only when it sees too few."""
        fetch = k
        while True:
            with self._lock:
                ranked = self._current().search(vector, fetch)
            visible = self.store.visible_ids([pid for pid, _ in ranked], guild_id)
            hits = [(pid, score) for pid, score in ranked if pid in visible]
            if len(hits) >= k or len(ranked) < fetch:
                return hits[:k]
            fetch *= 4

    def size(self) -> int:
        """How many passages the index holds, once caught up."""
        with self._lock:
            return len(self._current())

    def current(self) -> FlatIndex:
        """The in-memory FAISS index, caught up (for benchmarks and tests; do not change it)."""
        with self._lock:
            return self._current()

    def close(self) -> None:
        """Nothing to release: the index is memory and files, the database is the store's."""

    def catch_up(self) -> None:
        """Take in every change committed since, by any process."""
        with self._lock:
            self._current()

    def commit(self) -> None:
        """Catch up, then save the index for the next process to start from."""
        with self._lock:
            self._current()
            self._save()

    def reload(self) -> None:
        """Build the index afresh from every stored embedding, and save it."""
        with self._lock:
            self._reload()
            self._save()

    # -- keeping the copy current -----------------------------------------------------

    def _current(self) -> FlatIndex:
        if self._index is None:
            self._load_or_recover()
        self._sync()
        assert self._index is not None
        return self._index

    def _load_or_recover(self) -> None:
        """Load the saved index and catch it up with the change log, or rebuild it from the stored embeddings."""
        others = {m: n for m, n in self.store.embedding_models().items() if m != self.model}
        if others:
            names = ", ".join(others)
            raise BadInput(f"the passages were embedded with {names}, not {self.model}; run `rebuild` to re-embed them")
        if not self.store.embedding_models():  # a fresh data directory: nothing to recover
            self._index, self._generation = FlatIndex(self._dim()), self.store.generation()
            return
        try:
            index, generation = load_index(self.data_dir, model=self.model, lineage=self.store.lineage())
            if generation > self.store.generation():
                raise IndexUnusable(
                    f"it reflects change {generation} but the database is only at change {self.store.generation()}"
                )
            if needs_rebuild(index):
                raise IndexUnusable(f"a {index.kind} index does not suit {len(index)} passages")
        except IndexUnusable as reason:
            log.warning("index: %s; rebuilding it from the stored embeddings (no re-embedding)", reason)
            self._reload()
            self._save()
            return
        self._index, self._generation = index, generation
        if self._sync():
            self._save()

    def _reload(self) -> None:
        """Build the index afresh from every stored embedding."""
        self._generation, ids, vectors = self.store.snapshot(self.model)
        self._index = build_index(ids, vectors, vectors.shape[1] if len(ids) else self._dim())

    def _sync(self) -> bool:
        """Apply the changes committed since the index was current, by this process or any other.

        Every change is logged by the database itself in the transaction that makes it, so an
        index brought up to the database's generation this way holds exactly its passages. Return
        whether anything changed.
        """
        assert self._index is not None
        if self.store.generation() == self._generation:
            return False
        changes = self.store.changes_since(self._generation, self.model)
        if changes is None or len(changes.embedded) > max(RELOAD_AT, len(self._index) // 2):
            self._reload()  # far behind, or most passages re-embedded (a rebuild): cheaper to start afresh
            return True
        self._index.remove(np.concatenate([changes.removed, changes.embedded]))
        if len(changes.embedded):
            self._index.add(changes.embedded, changes.vectors)
        self._generation = changes.generation
        return True

    def _save(self) -> None:
        """Catch up with every committed change, then save the index; if saving fails, the change stands.

        Each change is already in the database, so it is not undone when the index cannot be
        written: the saved index is left as it was (its manifest names an older generation) and
        the next process to load it catches it up from the change log.
        """
        assert self._index is not None
        self._sync()
        if needs_rebuild(self._index):  # grown past the size exact search suits (or shrunk well below it)
            kind = "ivf" if self._index.kind == "flat" else "flat"
            log.info("index: rebuilding %d passages as %s", len(self._index), kind)
            self._reload()
        assert self._index is not None
        try:
            save_index(
                self._index, self.data_dir, model=self.model, generation=self._generation, lineage=self.store.lineage()
            )
        except OSError as exc:
            log.warning(
                "index: could not save it in %s (%s); the change is saved in the database and the index"
                " will be caught up from it at the next start",
                self.data_dir,
                exc.strerror or exc,
            )
        self.store.trim_log()


def faiss_index(vectors: VectorSearch) -> FlatIndex:
    """The FAISS index behind an embedded vector search, caught up (for benchmarks and tests)."""
    if not isinstance(vectors, FaissSearch):
        raise TypeError(f"{type(vectors).__name__} keeps no FAISS index")
    return vectors.current()
