"""The server's logs through the one logging setup (ragchat.logs): a real ``ragchat serve`` with a
bearer token, answering through a real llama.cpp server that needs an API key. At every level down
to DEBUG the logs never hold the token or the key; at INFO they never hold the question, and they
hold one line per request."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from tests.serve.conftest import QUESTION, start_server

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.llm]

MODEL = "ragchat/default"


def _ask_everything(server, token: str) -> list[str]:
    """A plain and a streamed completion and a /v1/ask saved in a conversation, with the token; returns the
    request ids."""
    from openai import OpenAI

    client = OpenAI(base_url=server.api, api_key=token, max_retries=0, timeout=300)
    messages = [{"role": "user", "content": QUESTION}]
    plain = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages, max_tokens=32)
    assert plain.http_response.status_code == 200
    streamed = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=32, stream=True)
    assert list(streamed)
    auth = {"Authorization": f"Bearer {token}"}
    saved = httpx.post(server.api + "/conversations", json={}, headers=auth, timeout=60)
    assert saved.status_code == 201, saved.text  # the question is saved (SQL) as well as answered
    ask = httpx.post(server.api + "/ask", json={"question": QUESTION, "conversation_id": saved.json()["id"]},
                     timeout=300, headers=auth)
    assert ask.status_code == 200, ask.text
    return [plain.http_response.headers["x-request-id"], ask.headers["x-request-id"]]


def _llm_requests(llm) -> int:
    return len(re.findall(r"POST /v1/chat/completions HTTP/1.1\" 200", llm.log_tail(10**7)))


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_the_logs_never_hold_a_token_or_a_key(server, keyed_llama_server, level):
    token = f"tok-{secrets.token_hex(12)}"
    key = keyed_llama_server.api_key
    before = _llm_requests(keyed_llama_server)
    running = start_server(
        server.home,
        RAGCHAT_LOG_LEVEL=level,
        RAGCHAT_SERVE__TOKENS=f'["{token}"]',
        RAGCHAT_LLM__BASE_URL=keyed_llama_server.base_url,
        RAGCHAT_LLM__MODEL=keyed_llama_server.model,
        RAGCHAT_LLM__MAX_TOKENS="32",  # short answers: SmolLM2 on 2 cores is slow
        RAGCHAT_LLM_API_KEY=key,
    )
    try:
        request_ids = _ask_everything(running, token)
    finally:
        running.stop()
    assert _llm_requests(keyed_llama_server) > before  # the key was used, and accepted
    log = running.log_text()
    assert token not in log and key not in log
    for request_id in request_ids:  # one line per request: id, route, model, status, milliseconds
        lines = [line for line in log.splitlines() if request_id in line]
        assert len(lines) == 1 and re.search(r" INFO ragchat\.serve: \w+ POST /v1/\S+ model=\S+ status=200 \d+ ms$",
                                             lines[0]), lines
    if level == "DEBUG":
        assert " DEBUG " in log  # the libraries' own DEBUG lines were written, and held no secret
    else:
        assert QUESTION not in log and " DEBUG " not in log
