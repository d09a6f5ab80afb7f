"""The answerer chosen in the UI's settings: an OpenAI-compatible endpoint per session, its key
sent to the endpoint only, and the extractive answer when the endpoint fails.

The endpoint is a real llama.cpp server with SmolLM2-135M that needs an API key
(``keyed_llama_server``, see tests/conftest.py): it refuses a request without the right
``Authorization: Bearer`` header with HTTP 401, so an LLM answer proves the key from the
session's field reached it. The model is tiny and weak in Chinese: these tests prove the
wiring, not answer quality.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from gradio_client import Client

pytestmark = pytest.mark.server

QUESTION = "上半年全市GDP增长多少?"
K = 3  # a short prompt: SmolLM2 on a busy 2-core machine


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serialised(outputs) -> str:
    return json.dumps(outputs, ensure_ascii=False, default=str)


@pytest.mark.llm
def test_llm_answerer_from_the_session_fields_with_the_key_sent_only_to_the_endpoint(
        client: Client, keyed_llama_server, ui_app):
    server = keyed_llama_server
    outputs = client.predict(QUESTION, K, "llm", server.base_url, server.model, server.api_key, api_name="/chat")
    messages, _sources, warnings, answer, _q = outputs
    assert answer["answerer"] == "llm", (answer["notes"], server.log_tail())
    assert answer["answer"].strip()
    assert not any("LLM endpoint failed" in note for note in answer["notes"]), answer["notes"]
    assert "LLM endpoint failed" not in warnings
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"]
    # The key is never echoed back, in any output of the call, nor kept in the app's settings.
    assert server.api_key not in _serialised(outputs)
    assert server.api_key not in ui_app.settings.model_dump_json()
    assert server.api_key not in ui_app.library.service.settings.model_dump_json()
    assert ui_app.demo.run_history is False  # the browser does not keep the calls' inputs either
    # Another session without the fields still answers extractively: nothing leaked across.
    other = Client(ui_app.url, verbose=False).predict(QUESTION, K, "extractive", "", "", "", api_name="/chat")
    assert other[3]["answerer"] == "extractive" and "5.3%" in other[3]["answer"]
    assert server.api_key not in _serialised(other)


@pytest.mark.llm
def test_a_wrong_key_is_refused_and_the_extractive_answer_comes_with_a_warning(client: Client, keyed_llama_server):
    server = keyed_llama_server
    wrong = "sk-wrong-" + server.api_key[::-1]
    # The server itself refuses a request without the key: the key is what lets a request in.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.base_url + "/models", timeout=30)
    assert refused.value.code == 401
    outputs = client.predict(QUESTION, K, "llm", server.base_url, server.model, wrong, api_name="/chat")
    messages, _sources, warnings, answer, _q = outputs
    assert answer["answerer"] == "extractive" and "5.3%" in answer["answer"]
    failed = [note for note in answer["notes"] if "LLM endpoint failed" in note]
    assert failed and "401" in failed[0], answer["notes"]
    assert "LLM endpoint failed" in warnings and "401" in warnings
    assert "LLM endpoint failed" in _serialised(messages[-1])  # the chat shows it too
    serialised = _serialised(outputs)
    assert wrong not in serialised and server.api_key not in serialised


def test_failing_llm_gives_the_extractive_answer_with_a_warning(client: Client):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    outputs = client.predict(QUESTION, 5, "llm", url, "any-model", "", api_name="/chat")
    messages, _sources, warnings, answer, _q = outputs
    assert answer["answerer"] == "extractive" and "5.3%" in answer["answer"]
    assert any("LLM endpoint failed" in note for note in answer["notes"])
    assert "LLM endpoint failed" in warnings


def test_llm_without_an_endpoint_is_a_clear_error(client: Client):
    with pytest.raises(Exception, match="base URL and a model"):
        client.predict(QUESTION, 5, "llm", "", "", "", api_name="/chat")
