"""A small client for any OpenAI-compatible chat endpoint (llama.cpp server, vLLM, Ollama, ...).

Built on LangChain's ``langchain_openai.ChatOpenAI`` (extra ``llm``). The answer chain uses
:class:`ChatEndpoint`::

    endpoint = ChatEndpoint(settings.llm)
    if endpoint.available:
        for token in endpoint.stream([SystemMessage(system), HumanMessage(question)]):
            ...

Messages are LangChain messages (``SystemMessage``/``HumanMessage``/``AIMessage``). Anything
LangChain itself accepts as a message list also works, notably ``("system"|"user"|"human"|
"assistant"|"ai", text)`` tuples; a bad message is a ``TypeError``/``ValueError`` raised before
any request is made (a caller's bug, not an endpoint failure).

Every endpoint failure is one of the typed errors of :mod:`ragchat.errors`, whose message names
the endpoint and says what to do; no httpx/openai exception escapes and nothing hangs:

* connection refused, unknown host, the server closing the connection mid-answer (it died or
  was stopped): :class:`LLMUnavailableError`. openai>=3 wraps a mid-stream disconnect
  (``httpx2.RemoteProtocolError``/``ReadError``) in ``APIConnectionError``, so it surfaces as
  unavailable, not as a bad response;
* no first token, or no new token, within ``timeout_s``: :class:`LLMTimeoutError`. The HTTP
  read timeout catches a silent server; a watchdog (the stream is read in a helper thread)
  also catches a server that keeps the connection alive with SSE keep-alive comments
  (llama.cpp's Python server pings every 15 s) but sends no token;
* HTTP 4xx/5xx, a body that is not a chat completion, an empty completion:
  :class:`LLMBadResponseError`. Note: llama-cpp-python's server answers a *streamed* request
  whose prompt plus ``max_tokens`` exceeds its ``n_ctx`` with HTTP 200 and an empty stream
  (not the 400 ``context_length_exceeded`` it sends without streaming), so a too-long prompt
  surfaces as an empty completion; the message says so. Fit the prompt to
  ``llm.context_window`` and keep that no larger than the server's context.

``max_tokens`` is sent as ``max_tokens`` (``ChatOpenAI`` would send ``max_completion_tokens``,
which llama-cpp-python's server ignores, generating until its context is full).

A request that dies on a reset or closed connection before any answer is sent once more on a
fresh connection (a stale kept-alive connection, see ``_is_stale_connection``); nothing else is
retried (``max_retries=0``).

``complete`` is built on ``stream``, so both have the same per-token timeout: a long answer
from a slow CPU model is never cut by a total-time limit, only by a stall.
"""

from __future__ import annotations

import contextvars
import json
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union

from pydantic import ValidationError

from ragchat.errors import (
    ConfigError,
    LLMBadResponseError,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    MissingDependencyError,
)
from ragchat.settings import LLMSettings

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

Message = Union["BaseMessage", tuple[str, str]]
"""A LangChain message, or a ``(role, text)`` tuple that LangChain converts."""

PLACEHOLDER_API_KEY = "not-needed"
"""Sent when the API key variable is unset: local servers ignore the key, the SDK needs one."""

_INSTALL_HINT = "install it with: pip install langchain-openai (a dependency of ragchat)"

# The watchdog fires this long after timeout_s, so a silent server is normally reported by
# the HTTP read timeout (which also closes the connection); the watchdog only catches streams
# kept alive by keep-alive comments or byte trickles.
_WATCHDOG_GRACE_S = 0.5


class ChatEndpoint:
    """One OpenAI-compatible chat endpoint, configured by :class:`LLMSettings`.

    ``overrides`` replace fields of the settings (``ChatEndpoint(s, max_tokens=64)``) and are
    validated like the settings. ``api_key`` replaces the key read from the environment
    variable named by ``api_key_env`` (when neither is set, ``"not-needed"`` is sent).
    Thread-safe: each call to :meth:`stream` is an independent request.
    """

    def __init__(
        self,
        settings: LLMSettings | None = None,
        *,
        api_key: str | None = None,
        **overrides: Any,
    ) -> None:
        base = settings if settings is not None else LLMSettings()
        if overrides:
            try:
                base = LLMSettings.model_validate({**base.model_dump(), **overrides})
            except ValidationError as exc:
                raise ConfigError(f"invalid LLM settings: {exc}") from exc
        self.settings = base
        self._api_key = api_key
        self._client: Any = None
        self._client_lock = threading.Lock()

    # --- description ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.settings.base_url.strip()

    @property
    def model(self) -> str:
        return self.settings.model.strip()

    @property
    def available(self) -> bool:
        """True when an endpoint is configured (``base_url`` and ``model`` set).

        Says nothing about whether the server is up: a call tells that.
        """
        return bool(self.base_url and self.model)

    @property
    def name(self) -> str:
        """How messages name the endpoint: ``LLM endpoint http://host:port/v1 (model 'm')``."""
        return f"LLM endpoint {self.base_url or '(no base_url)'} (model {self.model or '(none)'!r})"

    def __repr__(self) -> str:
        return f"ChatEndpoint(base_url={self.base_url!r}, model={self.model!r})"

    # --- calls ---------------------------------------------------------------------------

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the answer's text as it arrives, piece by piece (never an empty piece).

        Raises an :class:`LLMError` subclass on any failure, possibly after some pieces were
        yielded (the server died mid-answer). Closing the iterator early stops the request.
        """
        lc_messages = _to_messages(messages)
        client = self._chat_client()
        pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancel = threading.Event()

        def read() -> None:
            for attempt in (1, 2):
                started = False
                try:
                    for chunk in client.stream(lc_messages):
                        if cancel.is_set():
                            break  # closing the generator closes the HTTP response
                        started = True
                        pieces.put(("chunk", chunk))
                    pieces.put(("done", None))
                    return
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
                    if attempt == 1 and not started and not cancel.is_set() and _is_stale_connection(exc):
                        continue  # once, on a fresh connection: see _is_stale_connection
                    pieces.put(("error", exc))
                    return

        context = contextvars.copy_context()  # keeps LangChain callbacks/tracing config
        reader = threading.Thread(target=context.run, args=(read,), name="ragchat-llm-stream", daemon=True)
        reader.start()
        wait_s = self.settings.timeout_s + _WATCHDOG_GRACE_S
        deadline = time.monotonic() + wait_s  # moved on by text only, not by empty chunks
        received = False
        try:
            while True:
                try:
                    kind, item = pieces.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    what = "a further token" if received else "the first token"
                    raise LLMTimeoutError(
                        f"{self.name}: no answer within {self.settings.timeout_s:g} s waiting for "
                        f"{what}; the server is overloaded or stuck. Try again, use a smaller "
                        "model or raise llm.timeout_s."
                    ) from None
                if kind == "chunk":
                    text = _chunk_text(item)
                    if text:
                        received = True
                        yield text
                        deadline = time.monotonic() + wait_s
                elif kind == "done":
                    break
                else:
                    raise self._error(item, received=received) from item
        finally:
            cancel.set()
        if not received:
            raise LLMBadResponseError(_empty_message(self.name))

    def complete(self, messages: Sequence[Message]) -> str:
        """The whole answer as one string (streamed underneath; same errors as :meth:`stream`)."""
        return "".join(self.stream(messages))

    # --- internals -----------------------------------------------------------------------

    def _resolved_api_key(self) -> str:
        if self._api_key:
            return self._api_key
        env = self.settings.api_key_env.strip()
        return (os.environ.get(env, "") if env else "") or PLACEHOLDER_API_KEY

    def _chat_client(self) -> Any:
        if not self.available:
            raise LLMUnavailableError(
                f"{self.name}: no LLM endpoint is configured; set llm.base_url (e.g. "
                "http://127.0.0.1:8080/v1) and llm.model, or use the extractive answer."
            )
        with self._client_lock:
            if self._client is None:
                try:
                    from langchain_openai import ChatOpenAI
                except ImportError as exc:
                    raise MissingDependencyError(
                        f"the LLM client needs langchain-openai ({exc}); {_INSTALL_HINT}"
                    ) from exc
                s = self.settings
                self._client = ChatOpenAI(
                    model=self.model,
                    base_url=self.base_url,
                    api_key=self._resolved_api_key(),
                    temperature=s.temperature,
                    # ChatOpenAI sends its max_tokens as "max_completion_tokens", which
                    # llama-cpp-python's server (and other local servers) ignore: they would
                    # generate until the context is full. "max_tokens" is the field every
                    # OpenAI-compatible server reads, so it goes in the body as is.
                    extra_body={"max_tokens": s.max_tokens},
                    timeout=s.timeout_s,
                    max_retries=0,
                    streaming=True,
                    stream_usage=False,
                )
            return self._client

    def _error(self, exc: BaseException, *, received: bool) -> LLMError:
        """Map an exception raised by langchain_openai/openai/httpx to a typed error."""
        key_source = "" if self._api_key else self.settings.api_key_env  # "": the key was given directly (UI field)
        return map_llm_error(exc, endpoint=self.name, api_key_env=key_source, received=received)


def map_llm_error(
    exc: BaseException,
    *,
    endpoint: str,
    api_key_env: str = "RAGCHAT_LLM_API_KEY",
    received: bool = False,
) -> LLMError:
    """The typed error for ``exc`` raised while calling ``endpoint``.

    Matches by class name along the ``__cause__`` chain as well as by type, so it works with
    openai 1.x (httpx) and 3.x (httpx2) and with LangChain's re-raised subclasses.
    """
    if isinstance(exc, LLMError):
        return exc
    names = _class_names(exc)
    detail = _detail(exc)

    if "APITimeoutError" in names or "TimeoutException" in names or "ModelTimeoutError" in names or (
        isinstance(exc, TimeoutError)
    ):
        phase = "a further token" if received else "the first token"
        return LLMTimeoutError(
            f"{endpoint}: timed out waiting for {phase}; the server is overloaded or stuck. "
            "Try again, use a smaller model or raise llm.timeout_s."
        )

    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and "APIStatusError" in names:
        return LLMBadResponseError(f"{endpoint}: HTTP {status}: {detail}. {_status_hint(status, api_key_env)}")

    if "APIConnectionError" in names or "ModelConnectionError" in names or isinstance(exc, ConnectionError):
        root = _root(exc)
        root_names = _class_names(root)
        if "gaierror" in root_names:
            return LLMUnavailableError(
                f"{endpoint}: unknown host ({_detail(root)}); check llm.base_url."
            )
        if "ConnectError" in names or isinstance(root, ConnectionRefusedError) or "ConnectTimeout" in names:
            return LLMUnavailableError(
                f"{endpoint}: cannot connect ({_detail(root)}); start the server (for example "
                "python -m llama_cpp.server --model MODEL.gguf --port 8080) or fix llm.base_url."
            )
        when = "mid-answer" if received else "before answering"
        return LLMUnavailableError(
            f"{endpoint}: the server closed the connection {when} ({_detail(root)}); it may have "
            "crashed or been stopped. Check the server's log and try again."
        )

    if "APIError" in names or "APIResponseValidationError" in names or "ModelError" in names:
        return LLMBadResponseError(f"{endpoint}: the server sent an error or an invalid answer: {detail}")

    if isinstance(exc, ValueError) and "no generation chunks" in detail.lower():
        return LLMBadResponseError(_empty_message(endpoint))  # langchain: a stream with no chunk

    if isinstance(exc, (json.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError, IndexError)):
        # langchain_openai: "No generation chunks were returned", "Received response with null
        # value for 'choices'", "Unexpected response type ..."; openai: JSONDecodeError on an
        # SSE line that is not JSON.
        return LLMBadResponseError(
            f"{endpoint}: the answer is not an OpenAI chat completion ({type(exc).__name__}: {detail}); "
            "check that llm.base_url points at an OpenAI-compatible API (usually ending in /v1)."
        )

    if isinstance(exc, OSError):
        return LLMUnavailableError(f"{endpoint}: network error ({detail}); check the server and llm.base_url.")

    return LLMError(f"{endpoint}: unexpected failure ({type(exc).__name__}: {detail}).")


def _is_stale_connection(exc: BaseException) -> bool:
    """The request died on a reset or closed connection before any answer: worth one retry.

    LangChain shares one HTTP connection pool per (base_url, timeout) in the process, and a
    server may close a kept-alive connection just as the next request is sent on it (llama-cpp-
    python's server resets it right after a streamed request failed); the request then fails
    with a reset before the server saw it. Refused connections and timeouts are not retried.
    """
    names = _class_names(exc)
    if names & {"APITimeoutError", "TimeoutException", "ModelTimeoutError", "ConnectError", "ConnectTimeout"}:
        return False
    if "APIStatusError" in names:
        return False
    root = _root(exc)
    if isinstance(root, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return True
    return bool(names & {"RemoteProtocolError", "ReadError", "WriteError"})


def _empty_message(endpoint: str) -> str:
    return (
        f"{endpoint}: the answer held no text (an empty completion, or a body that is not a "
        "chat-completion stream). Check that llm.base_url points at an OpenAI-compatible API "
        "(usually ending in /v1), that llm.model is a chat model it serves, and that the prompt "
        "plus llm.max_tokens fits the server's context (llama-cpp-python's server answers a "
        "streamed request that does not fit with an empty stream)."
    )


def _status_hint(status: int, api_key_env: str) -> str:
    if status in (401, 403):
        if not api_key_env:
            return "The server refused the API key: check the key given for this endpoint."
        return f"The server refused the API key: put a valid key in the environment variable {api_key_env}."
    if status == 404:
        return "Check llm.model (a model the server serves) and llm.base_url (usually ends in /v1)."
    if status == 400:
        return "The server rejected the request; the prompt may exceed its context (lower llm.context_window)."
    if status == 429:
        return "The server is rate limiting; wait and try again."
    if status >= 500:
        return "The server failed; check its log and try again."
    return "Check llm.base_url and llm.model."


def _class_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.update(cls.__name__ for cls in type(current).__mro__)
        current = current.__cause__
    return names


def _root(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current = exc
    while current.__cause__ is not None and id(current.__cause__) not in seen:
        seen.add(id(current))
        current = current.__cause__
    return current


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _chunk_text(chunk: Any) -> str:
    text = getattr(chunk, "text", None)  # AIMessageChunk.text: the text blocks only
    if isinstance(text, str):  # a str subclass (TextAccessor) in langchain-core >= 1.0
        return str(text)
    if callable(text):  # langchain-core < 1.0 had a method
        text = text()
        if isinstance(text, str):
            return text
    content = getattr(chunk, "content", "")
    return content if isinstance(content, str) else ""


def _to_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    from langchain_core.messages import convert_to_messages

    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError("messages must be a list of LangChain messages or (role, text) tuples")
    converted = convert_to_messages(list(messages))
    if not converted:
        raise ValueError("messages is empty: give at least one message")
    return converted
