"""Any sentence-transformers model, from a local directory or the local HF cache.

Needs the ``st`` extra: ``pip install 'ragchat[st]'`` (that is
``pip install torch==2.13.0 sentence-transformers``). We are offline, so a hub
name is only looked up in the local Hugging Face cache, never downloaded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ragchat.errors import EmbeddingError, MissingDependencyError

from .base import BatchedEmbeddings
from .vectors import FloatMatrix, l2_normalise

_EXTRA_HINT = (
    "install the st extra: pip install 'ragchat[st]' "
    "(or: pip install torch==2.13.0 sentence-transformers)"
)


def looks_like_path(name_or_path: str) -> bool:
    """Whether ``name_or_path`` names a directory rather than a hub model id."""
    return (
        Path(name_or_path).expanduser().exists()
        or Path(name_or_path).is_absolute()
        or name_or_path.startswith((".", "~"))
        or name_or_path.count("/") > 1
        or "\\" in name_or_path
    )


class SentenceTransformerEmbeddings(BatchedEmbeddings):
    """A sentence-transformers model on the CPU, loaded on first use.

    ``query_prefix`` and ``passage_prefix`` are put before queries and
    documents (e.g. ``"query: "`` / ``"passage: "`` for e5 models, nothing for
    MiniLM). With ``normalize=True`` (the default) vectors have unit length.

    ``dimension`` loads the model (torch import and weights: seconds).
    ``model_id`` names the model, the passage prefix and the normalisation, as
    they change the document vectors; pass ``model_id`` to choose another name.
    """

    def __init__(
        self,
        model_name_or_path: str | Path,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        normalize: bool = True,
        device: str = "cpu",
        batch_size: int = 32,
        progress: bool = False,
        cache_folder: str | Path | None = None,
        model_id: str | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, progress=progress)
        self.model_name_or_path = str(model_name_or_path)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.normalize = normalize
        self.device = device
        self.cache_folder = None if cache_folder is None else str(cache_folder)
        self._model_id = model_id
        self._model: Any = None
        self._call_lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        """Whether the model is given as a directory (else it is a hub name)."""
        return looks_like_path(self.model_name_or_path)

    @property
    def model_id(self) -> str:
        if self._model_id is not None:
            return self._model_id
        ref = self.model_name_or_path
        if self.is_local:
            ref = str(Path(ref).expanduser().resolve())
        model_id = f"sentence-transformers:{ref}"
        if self.passage_prefix:
            model_id += f"#passage_prefix={self.passage_prefix!r}"
        if not self.normalize:
            model_id += "#unnormalised"
        return model_id

    @property
    def dimension(self) -> int:
        """The model's output size. Loads the model (seconds: torch is imported)."""
        model = self._require_model()
        getter = getattr(model, "get_embedding_dimension", None)
        if getter is None:  # sentence-transformers < 6
            getter = model.get_sentence_embedding_dimension
        dimension = getter()
        if dimension is None:  # some models only know it after a forward pass
            dimension = len(self.embed_query("dimension"))
        return int(dimension)

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        return self._require_model()

    def _require_model(self) -> Any:
        self.ensure_loaded()
        return self._model

    def _load(self) -> None:
        ref = self.model_name_or_path
        if self.is_local:
            directory = Path(ref).expanduser()
            if not directory.is_dir():
                raise EmbeddingError(
                    f"sentence-transformers model directory {directory} does not exist; "
                    "give the directory holding the model's config.json and weights"
                )
            ref = str(directory.resolve())
        # read by huggingface_hub when it is first imported: no request is ever made
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                f"the sentence-transformers embeddings need torch and sentence-transformers "
                f"({exc}); {_EXTRA_HINT}"
            ) from exc
        options: dict[str, Any] = {"device": self.device, "local_files_only": True}
        if self.cache_folder is not None:
            options["cache_folder"] = self.cache_folder
        try:
            self._model = SentenceTransformer(ref, **options)
        except Exception as exc:  # third-party loaders raise many types
            if not self.is_local:  # their message asks to check an internet connection we never use
                raise EmbeddingError(
                    f"sentence-transformers model {self.model_name_or_path!r} is not installed locally: it is "
                    "not a folder, nor in the local Hugging Face cache, and models are never downloaded; "
                    "set embedding.model to a model folder on this machine, or embedding.kind to e5 (built in)"
                ) from exc
            detail = " ".join(str(exc).split())  # one line
            raise EmbeddingError(
                f"cannot load sentence-transformers model {self.model_name_or_path!r}: "
                f"{type(exc).__name__}: {detail}; check that it is a complete sentence-transformers model directory"
            ) from exc

    def _embed_batch(self, texts: list[str], *, query: bool) -> tuple[FloatMatrix, int | None]:
        model = self._require_model()
        prefix = self.query_prefix if query else self.passage_prefix
        inputs = [prefix + text for text in texts] if prefix else texts
        with self._call_lock:
            try:
                raw = model.encode(
                    inputs,
                    batch_size=len(inputs),
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=False,
                )
            except Exception as exc:  # torch raises RuntimeError and friends
                raise EmbeddingError(
                    f"sentence-transformers model {self.model_id!r} failed to embed: {exc}"
                ) from exc
        matrix = raw.astype("float32", copy=False)
        if self.normalize:
            matrix = l2_normalise(matrix, self.model_id)
        return matrix, None
