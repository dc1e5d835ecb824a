"""Turn vectors into passage ids: the FAISS index, derived from SQLite and saved atomically.

The index file and its manifest are a cache. The manifest is the commit point:
it is written (temp file, fsync, rename) after the index file it names, and
carries the index's checksum, model, dimension, count and the database
generation it reflects. Anything missing, unreadable or mismatched means
"rebuild from the stored embeddings".
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from corpus.files import fsync_dir

MANIFEST = "index.json"
LOCK = "index.lock"


class IndexUnusable(Exception):
    """The saved index cannot be trusted; the message says why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a saved index holds."""

    file: str
    sha256: str
    model: str
    dim: int
    count: int
    generation: int
    kind: str = "flat"
    lineage: str = ""  # the database's identity: a restored database gets a new one


class VectorIndex(Protocol):
    """Unit vectors keyed by passage id, searched by inner product."""

    def __len__(self) -> int:
        """How many vectors it holds."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under these passage ids."""
        ...

    def remove(self, ids: np.ndarray) -> None:
        """Forget these passage ids."""
        ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest passage ids with their scores, best first."""
        ...

    def ids(self) -> np.ndarray:
        """Every passage id it holds."""
        ...

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these passage ids, one row each."""
        ...

    def write(self, path: Path) -> None:
        """Write the index to ``path``."""
        ...


class FlatIndex:
    """Exact inner-product search: FAISS ``IndexIDMap2`` over ``IndexFlatIP``."""

    kind = "flat"

    def __init__(self, dim: int, index: Any = None) -> None:
        """An empty index of ``dim``-long vectors (or wrap a loaded FAISS index)."""
        import faiss

        self.dim = dim
        self._index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        """How many vectors it holds."""
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under these passage ids."""
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Forget these passage ids."""
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest passage ids with their cosine scores, best first."""
        if len(self) == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(query, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these passage ids, one row each."""
        if not ids:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def ids(self) -> np.ndarray:
        """Every passage id it holds."""
        import faiss

        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def write(self, path: Path) -> None:
        """Write the index to ``path``."""
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def read(cls, path: Path) -> FlatIndex:
        """Read an index written by :meth:`write`."""
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)


#: From this many passages on, an inverted-file index replaces exact search (measured: bench/scale.py).
IVF_THRESHOLD = 50_000
#: How many of the nearest lists an inverted-file search scans (recall@10 >= 0.95 at 1M: bench/scale.py).
NPROBE = 32


def ivf_lists(count: int) -> int:
    """How many lists (k-means centroids) an inverted-file index of ``count`` vectors gets: about 4 sqrt(n)."""
    return int(2 ** round(np.log2(max(4 * np.sqrt(count), 64))))


class IVFIndex(FlatIndex):
    """Approximate inner-product search for large collections: FAISS ``IndexIVFFlat``.

    The vectors are grouped around k-means centroids (trained on the collection when it is
    built); a search scans only the ``NPROBE`` nearest groups, exactly. Passages added later
    join the nearest group; a rebuild retrains.
    """

    kind = "ivf"

    def __init__(self, dim: int, index: Any = None, *, train: np.ndarray | None = None) -> None:
        """Wrap a loaded FAISS index, or train a new one on ``train`` (at least a few vectors per list)."""
        import faiss

        if index is None:
            if train is None:
                raise ValueError("a new inverted-file index needs vectors to train on")
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, ivf_lists(len(train)), faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = 15  # k-means rounds; 40 points per list is what FAISS asks for
            index.train(np.ascontiguousarray(_sample(train, 40 * index.nlist), dtype=np.float32))
            index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # for removals and reconstruct by id
        index.nprobe = NPROBE
        super().__init__(dim, index)

    def ids(self) -> np.ndarray:
        """Every passage id it holds."""
        import faiss

        invlists = self._index.invlists
        found = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(found).astype(np.int64) if found else np.empty(0, dtype=np.int64)

    @classmethod
    def read(cls, path: Path) -> IVFIndex:
        """Read an index written by :meth:`write`."""
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)


def _sample(vectors: np.ndarray, limit: int) -> np.ndarray:
    if len(vectors) <= limit:
        return vectors
    return vectors[np.random.default_rng(0).choice(len(vectors), limit, replace=False)]


KINDS: dict[str, type[FlatIndex]] = {"flat": FlatIndex, "ivf": IVFIndex}


def build_index(ids: np.ndarray, vectors: np.ndarray, dim: int) -> FlatIndex:
    """A fresh index holding these vectors: exact below ``IVF_THRESHOLD`` passages, inverted-file from there."""
    index = IVFIndex(dim, train=vectors) if len(ids) >= IVF_THRESHOLD else FlatIndex(dim)
    index.add(ids, vectors)
    return index


def needs_rebuild(index: FlatIndex) -> bool:
    """Whether ``index`` has grown past ``IVF_THRESHOLD`` (or shrunk below half of it) for its kind."""
    if index.kind == "flat":
        return len(index) >= IVF_THRESHOLD
    return len(index) < IVF_THRESHOLD // 2


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write via a temp file in the same directory, fsync it, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _saving(directory: Path) -> Iterator[None]:
    """Only one process at a time writes index files into ``directory`` (released even when killed)."""
    with open(directory / LOCK, "ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def saved_generation(directory: Path, model: str, lineage: str) -> int | None:
    """The generation of the index saved in ``directory`` for this model and database, if any."""
    try:
        manifest = Manifest(**json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return manifest.generation if (manifest.model, manifest.lineage) == (model, lineage) else None


def save_index(index: FlatIndex, directory: Path, *, model: str, generation: int, lineage: str = "") -> Manifest | None:
    """Save ``index`` and then its manifest, each atomically; remove superseded index files.

    Several processes may share the directory: an index is only saved over an older one, so a
    slower process never replaces a newer index with its own. Returns None when it was not saved.
    """
    with _saving(directory):
        saved = saved_generation(directory, model, lineage)
        if saved is not None and saved >= generation:
            return None
        return _save(index, directory, model=model, generation=generation, lineage=lineage)


def _save(index: FlatIndex, directory: Path, *, model: str, generation: int, lineage: str) -> Manifest:
    name = f"passages-{generation}.faiss"
    _write_atomically(directory / name, index.write)
    manifest = Manifest(
        file=name,
        sha256=_sha256(directory / name),
        model=model,
        dim=index.dim,
        count=len(index),
        generation=generation,
        kind=index.kind,
        lineage=lineage,
    )
    _write_atomically(
        directory / MANIFEST, lambda p: p.write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    )
    for old in directory.glob("passages-*.faiss"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return manifest


def forget_index(directory: Path) -> None:
    """Delete the saved index and its manifest (after a restore they describe another database)."""
    (directory / MANIFEST).unlink(missing_ok=True)
    for path in directory.glob("passages-*.faiss"):
        path.unlink(missing_ok=True)


def load_index(directory: Path, *, model: str, lineage: str = "") -> tuple[FlatIndex, int]:
    """The saved index and the database generation it reflects; :class:`IndexUnusable` if it cannot be trusted."""
    try:
        manifest = Manifest(**json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise IndexUnusable("no saved index") from exc
    except (ValueError, TypeError) as exc:
        raise IndexUnusable(f"the manifest is unreadable ({exc})") from exc
    if manifest.model != model:
        raise IndexUnusable(f"it was built for model {manifest.model}, not {model}")
    if manifest.lineage != lineage:
        raise IndexUnusable("it was built from another database (a restored backup, or one from before lineages)")
    path = directory / manifest.file
    if not path.is_file():
        raise IndexUnusable(f"{manifest.file} is missing")
    if _sha256(path) != manifest.sha256:
        raise IndexUnusable(f"{manifest.file} does not match its checksum (truncated or damaged)")
    if manifest.kind not in KINDS:
        raise IndexUnusable(f"it is of an unknown kind ({manifest.kind})")
    try:
        index = KINDS[manifest.kind].read(path)
    except RuntimeError as exc:
        raise IndexUnusable(f"{manifest.file} is unreadable ({exc})") from exc
    if len(index) != manifest.count or index.dim != manifest.dim:
        raise IndexUnusable("its size does not match the manifest")
    return index, manifest.generation
