"""Large collections switch to an inverted-file index by themselves, and it behaves like the exact one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import index.vectors as vectors
from corpus.readers import read_import_file
from index.faiss_search import faiss_index
from index.library import Library
from index.vectors import MANIFEST, FlatIndex, IVFIndex, load_index, save_index
from tests.conftest import reuters_subset_csv


def _unit(rows: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 topics, as real embeddings cluster (pure noise is IVF's worst case)."""
    rng = np.random.default_rng(seed)
    topics = np.random.default_rng(99).normal(size=(40, 32))
    data = (topics[rng.integers(0, 40, rows)] + rng.normal(scale=0.4, size=(rows, 32))).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def test_ivf_finds_what_exact_search_finds_and_survives_save_and_load(tmp_path: Path) -> None:
    """IVF search agrees with exact search on its nearest hits, forgets removed ids, and loads from disk."""
    data, ids = _unit(3000), np.arange(10, 3010, dtype=np.int64)
    exact, ivf = FlatIndex(32), IVFIndex(32, train=data)
    exact.add(ids, data)
    ivf.add(ids, data)
    queries = _unit(50, seed=1)
    overlap = np.mean(
        [len({i for i, _ in ivf.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10 for q in queries]
    )
    assert overlap >= 0.9
    assert ivf.search(data[5], 1)[0][0] == 15  # a stored vector finds itself
    ivf.remove(np.asarray([15]))
    assert 15 not in [i for i, _ in ivf.search(data[5], 10)] and len(ivf) == 2999
    np.testing.assert_allclose(ivf.vectors([16]), data[6:7], rtol=1e-6)
    save_index(ivf, tmp_path, model="m", generation=7)
    assert json.loads((tmp_path / MANIFEST).read_text())["kind"] == "ivf"
    loaded, generation = load_index(tmp_path, model="m")
    assert generation == 7
    assert isinstance(loaded, IVFIndex) and len(loaded) == 2999
    assert sorted(loaded.ids().tolist()) == sorted(set(ids.tolist()) - {15})


def test_library_switches_to_ivf_past_the_threshold_and_back(
    tmp_path: Path, seeded_dir: Path, encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Growing past IVF_THRESHOLD rebuilds the index as IVF (no re-embedding); shrinking well below goes back."""
    monkeypatch.setattr(vectors, "IVF_THRESHOLD", 60)
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    library = Library.open(path, encoder)
    assert faiss_index(library.vectors).kind == "flat"
    library.import_articles(read_import_file(reuters_subset_csv(tmp_path / "subset.csv", others=5)))
    assert faiss_index(library.vectors).kind == "ivf" and library.vectors.size() == library.store.counts()[1] >= 60
    assert "Tehran and Moscow" in "\n".join(q.text for q in library.ask("who did Ratcliffe blame?").quotes)
    library.close()

    counted = encoder.encoded
    reopened = Library.open(path, encoder)
    assert faiss_index(reopened.vectors).kind == "ivf" and encoder.encoded == counted  # loaded as saved
    for article in reopened.list_articles()[1:]:
        reopened.remove_article(article.id)
    assert faiss_index(reopened.vectors).kind == "flat" and reopened.vectors.size() == reopened.store.counts()[1] < 30
    assert reopened.ask("who did Ratcliffe blame?").answered
    reopened.close()
