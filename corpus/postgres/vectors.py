"""The server vector search: pgvector's HNSW index over the stored embeddings, filtered per server.

The embeddings are unit vectors, so their inner product is the cosine: the index is HNSW with
``vector_ip_ops`` and the search orders by ``<#>`` (the negated inner product). The column is
an untyped ``vector`` and the index is on its cast to ``vector(DIM)`` for the encoder's DIM
(partial, on the rows of that dimension), so a model of another size can be swapped in by
``rebuild`` without changing the table. A server's visibility is part of the query: with
``hnsw.iterative_scan = relaxed_order`` (set by :class:`PgDatabase`) the index scan goes on until
enough passages that server may see are found, and the few found slightly out of order are
sorted again (pgvector's README, "Iterative Index Scans"). How many candidates the scan keeps
(``hnsw.ef_search``) follows the number of passages, read again every RESIZE_S seconds: a bigger
graph needs a wider search for the same recall (database.py, ``ef_search_for``).

PostgreSQL is the only copy of the embeddings, and each query sees every committed change, so
``catch_up``, ``commit`` and ``reload`` have nothing to do. The search has a connection of its own
(index/factory.py), so that it runs beside the lexical search of the same question.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from corpus.errors import BadInput
from corpus.postgres.database import PgDatabase, VectorParam, ef_search_for

#: How often (seconds) a process looks again at the database's size to size its searches.
RESIZE_S = 300.0
#: How many candidates each insert into the HNSW graph weighs when it picks its links (pgvector's
#: default is 64). On the scale bench's 1,000,000 passages (BENCHMARKS.md) a graph built with 64 gave
#: recall@10 0.890 at the widest search, 128 gave 0.938 and 256 gave 0.970; 256 makes each insert
#: into a live database about twice as slow as 64 (BENCHMARKS.md, "HNSW `ef_construction` 256"),
#: which an import through the model hardly feels.
EF_CONSTRUCTION = 256


class PgVectorSearch:
    """Nearest passages by cosine, from pgvector's HNSW index."""

    def __init__(self, db: PgDatabase, *, model: str, dim: Callable[[], int]) -> None:
        """Search the embeddings ``model`` made; ``dim()`` (the model's size) is asked when first searching."""
        self.db, self.model, self._dim = db, model, dim
        self._indexed: int | None = None  # the dimension whose index is known to exist
        self._sized_at = -RESIZE_S  # when the size was last read (time.monotonic)

    def ensure_index(self, dim: int) -> None:
        """Create the HNSW index for vectors of ``dim`` unless it is there (once per database)."""
        if self._indexed != dim:
            ensure_hnsw_index(self.db, dim)
            self._indexed = dim

    def _check_models(self) -> None:
        others = [m for m in self.db.query("SELECT DISTINCT model FROM embeddings") if m[0] != self.model]
        if others:
            names = ", ".join(str(m[0]) for m in others)
            raise BadInput(f"the passages were embedded with {names}, not {self.model}; run `rebuild` to re-embed them")

    def search(self, vector: np.ndarray, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` nearest passages ``guild_id`` may see, best first."""
        dim = len(vector)
        if self._indexed != dim:
            self._check_models()
            self.ensure_index(dim)
        if time.monotonic() - self._sized_at >= RESIZE_S:  # a bigger graph needs a wider search
            self._sized_at = time.monotonic()
            self.db.use_ef_search(ef_search_for(int(self.db.query("SELECT passages FROM lexical_totals")[0][0])))
        rows = self.db.query(
            f"""
            WITH nearest AS MATERIALIZED (
                SELECT passage_id, vector::vector({dim:d}) <#> %(q)b::vector({dim:d}) AS distance
                FROM embeddings
                WHERE dim = {dim:d} AND model = %(model)s AND (guild_id IS NULL OR guild_id = %(guild)s)
                ORDER BY distance LIMIT %(k)s
            )
            SELECT passage_id, -distance FROM nearest ORDER BY distance + 0, passage_id
            """,
            {"q": VectorParam(vector), "model": self.model, "guild": guild_id, "k": k},
        )
        return [(int(pid), float(score)) for pid, score in rows]

    def size(self) -> int:
        """How many passages are searchable."""
        return int(self.db.query("SELECT COUNT(*) FROM embeddings WHERE model = %s", (self.model,))[0][0])

    def close(self) -> None:
        """Close this search's connection."""
        self.db.close()

    def catch_up(self) -> None:
        """Nothing to do: every query sees every committed change."""

    def commit(self) -> None:
        """Nothing to persist: the embeddings and their index are in the database."""

    def reload(self) -> None:
        """After a rebuild: make sure the new model's vectors are indexed."""
        self._indexed = None
        self._check_models()
        self.ensure_index(self._dim())


def ensure_hnsw_index(db: PgDatabase, dim: int) -> None:
    """Create the HNSW index over the embeddings of ``dim`` unless it is there (one process builds it).

    An index made by an earlier version with another ``ef_construction`` is given this one, which
    pgvector reads at every insert; the links it already has stay as they were until an admin runs
    ``REINDEX`` (README, "PostgreSQL").
    """
    name = f"embeddings_hnsw_{dim:d}"
    with db.lock, db.connection.transaction():
        db.connection.execute("SELECT pg_advisory_xact_lock(727275)")
        db.connection.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw ((vector::vector({dim:d})) vector_ip_ops)"
            f" WITH (ef_construction = {EF_CONSTRUCTION:d}) WHERE dim = {dim:d}"
        )
        row = db.connection.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", (name,)).fetchone()
        if f"ef_construction={EF_CONSTRUCTION:d}" not in ((row[0] if row else None) or []):
            db.connection.execute(f"ALTER INDEX {name} SET (ef_construction = {EF_CONSTRUCTION:d})")
