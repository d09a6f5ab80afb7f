"""429 busy, with real concurrent requests against a real server: one streamed answer holds the only
turn (``serve.max_concurrent=1``) while its LLM, a gated fake on loopback, waits for the test; one more
request may wait (``serve.max_waiting=1``), the next is refused at once with 429 and ``Retry-After``;
once the load drops, every request succeeds again."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import httpx
import pytest

from tests.serve.conftest import QUESTION, Server, start_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

MODEL = "ragchat/default"
GATE_TIMEOUT_S = 120.0


def _sse(text: str) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "gated",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


class GatedLLM(http.server.ThreadingHTTPServer):
    """A FAKE LLM: a real HTTP server on loopback speaking OpenAI's streamed chat completions, which
    sends one token, then holds the answer until the test opens :attr:`gate`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GatedHandler)
        self.gate = threading.Event()
        self.called = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _GatedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatedLLM

    def log_message(self, *args: object) -> None:
        pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(_sse("根据文档"))
        self.server.called.set()
        self.server.gate.wait(GATE_TIMEOUT_S)
        self._chunk(_sse("，肉牛养殖量达到131.7万头[1]。"))
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")


@pytest.fixture()
def gated_llm() -> Iterator[GatedLLM]:
    llm = GatedLLM()
    thread = threading.Thread(target=llm.serve_forever, daemon=True)
    thread.start()
    try:
        yield llm
    finally:
        llm.gate.set()
        llm.shutdown()
        llm.server_close()


@pytest.fixture()
def busy_server(server: Server, gated_llm: GatedLLM) -> Iterator[Server]:
    """A server on the built index whose answers come from the gated LLM, one at a time, one waiting."""
    running = start_server(server.home, RAGCHAT_LLM__BASE_URL=gated_llm.base_url, RAGCHAT_LLM__MODEL="gated",
                           RAGCHAT_SERVE__MAX_CONCURRENT="1", RAGCHAT_SERVE__MAX_WAITING="1")
    try:
        yield running
    finally:
        running.stop()


def _stream(api: str) -> str:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", api + "/chat/completions", json=body, timeout=GATE_TIMEOUT_S) as response:
        assert response.status_code == 200
        return "".join(response.iter_lines())


def _ask(api: str) -> httpx.Response:
    return httpx.post(api + "/ask", json={"question": QUESTION}, timeout=GATE_TIMEOUT_S)


def test_over_the_bounds_is_429_then_served_again(busy_server: Server, gated_llm: GatedLLM):
    api = busy_server.api
    with ThreadPoolExecutor(max_workers=3) as pool:
        holder = pool.submit(_stream, api)
        assert gated_llm.called.wait(GATE_TIMEOUT_S), "the streamed answer never reached the LLM"
        # the only turn is taken: of two more requests, one waits and the other is refused at once
        extra = [pool.submit(_ask, api), pool.submit(_ask, api)]
        done, _ = wait(extra, timeout=GATE_TIMEOUT_S, return_when=FIRST_COMPLETED)
        assert done, "neither request was answered while the turn was held"
        refused = done.pop().result()
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"].isdigit()
        error = refused.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "server_busy" and error["type"] == "rate_limit_error"
        assert not holder.done()  # still held by its LLM
        gated_llm.gate.set()  # the load drops
        waited = next(f for f in extra if f.result() is not refused).result()
        assert waited.status_code == 200, waited.text
        assert "[DONE]" in holder.result()
    again = [_ask(api) for _ in range(2)]  # nothing waits now: all served
    assert [r.status_code for r in again] == [200, 200]
    assert "status=429" in busy_server.log_text()
