"""The HTTP API with httpx: /v1/ask against the CLI, every error status in OpenAI's shape,
tokens, readiness, and the refusal to bind a shared address without tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import FIGURE, QUESTION, home_env, start_server, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

MODEL = "ragchat/default"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}]}


def assert_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] and "Traceback" not in response.text
    return body["error"]


def test_health_and_readiness(server):
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").status_code == 200


def test_the_ui_is_served_at_the_root(server):
    page = httpx.get(server.url + "/", timeout=30)
    assert page.status_code == 200 and "gradio" in page.text.lower()


def test_the_mounted_ui_carries_both_languages(server):
    """``mount_gradio_app`` gets the UI's gr.I18n: its config hands both tables to the browser."""
    from chat.ui.i18n import WORDS

    translations = httpx.get(server.url + "/config", timeout=30).json()["i18n_translations"]
    assert translations == WORDS


def test_ask_equals_the_cli_json(server):
    served = httpx.post(server.api + "/ask", json={"question": QUESTION}, timeout=120)
    assert served.status_code == 200
    cli = subprocess.run([sys.executable, "-m", "ragchat", "ask", "--json", QUESTION], env=server.env,
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    answer = served.json()
    assert FIGURE in answer["answer"]
    assert set(answer) == set(printed)
    for key in set(printed) - {"timings_ms"}:
        assert answer[key] == printed[key], key


def test_ask_takes_history_and_k(server):
    answer = httpx.post(server.api + "/ask", timeout=120, json={
        "question": QUESTION, "k": 2, "history": [["user", "上半年全市GDP增长多少?"], ["assistant", "…"]]}).json()
    assert len(answer["retrieved"]) == 2


@pytest.mark.parametrize("k", [0, 1.5, "5", True, 101])
def test_a_bad_k_is_422_with_the_services_message(server, k):
    error = assert_error(httpx.post(server.api + "/ask", json={"question": QUESTION, "k": k}), 422)
    assert "k (passages to retrieve) must be a whole number from 1 to 100" in error["message"]


@pytest.mark.parametrize(("body", "status"), [
    (b"{not json", 400),
    (b"", 422),
    (json.dumps({"model": MODEL, "messages": []}).encode(), 400),
    (json.dumps({"model": MODEL, "messages": [{"role": "assistant", "content": "hi"}]}).encode(), 400),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "   "}]}).encode(), 400),
    (json.dumps({"model": MODEL, "messages": "hello"}).encode(), 422),
    (json.dumps({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}).encode(), 422),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": 5}]}).encode(), 422),
    (json.dumps({**CHAT, "stream": "often"}).encode(), 422),
    (json.dumps({**CHAT, "max_tokens": 0}).encode(), 422),
    (json.dumps({**CHAT, "max_tokens": 10**9}).encode(), 422),
    (json.dumps({"messages": CHAT["messages"]}).encode(), 422),
    (json.dumps([1, 2]).encode(), 422),
])
def test_bad_chat_requests_get_openai_errors(server, body, status):
    response = httpx.post(server.api + "/chat/completions", content=body,
                          headers={"content-type": "application/json"}, timeout=60)
    assert_error(response, status)


def test_max_tokens_within_limits_is_accepted(server):
    response = httpx.post(server.api + "/chat/completions", json={**CHAT, "max_tokens": 64}, timeout=120)
    assert response.status_code == 200 and FIGURE in response.json()["choices"][0]["message"]["content"]


def test_unknown_model_is_404(server):
    error = assert_error(httpx.post(server.api + "/chat/completions", json={**CHAT, "model": "gpt-4o"}), 404)
    assert error["param"] == "model" and error["code"] == "model_not_found"


def test_a_huge_body_is_413(server):
    huge = {**CHAT, "messages": [{"role": "user", "content": "肉" * (2 * 2**20)}]}
    assert_error(httpx.post(server.api + "/chat/completions", json=huge, timeout=60), 413)

    def chunked():  # no Content-Length: the limit counts what arrives
        for _ in range(40):
            yield b" " * 65536
        yield json.dumps(CHAT).encode()

    assert_error(httpx.post(server.api + "/chat/completions", content=chunked(), timeout=60,
                            headers={"content-type": "application/json"}), 413)


def test_one_log_line_per_request_without_the_question(server):
    response = httpx.post(server.api + "/chat/completions", json=CHAT, timeout=120)
    request_id = response.headers["x-request-id"]
    lines = [line for line in server.log_text().splitlines() if request_id in line]
    assert len(lines) == 1
    assert "POST /v1/chat/completions" in lines[0] and f"model={MODEL}" in lines[0] and "status=200" in lines[0]
    assert QUESTION not in server.log_text()


def test_tokens_guard_v1_but_not_health(token_server):
    api = token_server.api
    assert_error(httpx.get(api + "/models"), 401)
    assert_error(httpx.post(api + "/chat/completions", json=CHAT), 401)
    assert_error(httpx.post(api + "/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer nope"}), 401)
    assert_error(httpx.get(api + "/models", headers={"Authorization": "Basic s3cret-token"}), 401)
    # without a token, nothing is learnt about the body either: 401 before 400, 413 or 422
    for body in (b"{not json", json.dumps({"model": MODEL}).encode(), b" " * (2 * 2**20)):
        error = assert_error(httpx.post(api + "/chat/completions", content=body, timeout=60,
                                        headers={"content-type": "application/json"}), 401)
        assert error["code"] == "missing_api_key"
    assert httpx.get(token_server.url + "/healthz").status_code == 200
    assert httpx.get(token_server.url + "/readyz").status_code == 200
    for token in ("s3cret-token", "other-token"):
        ok = httpx.post(api + "/chat/completions", json=CHAT, timeout=120, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and FIGURE in ok.json()["choices"][0]["message"]["content"]
    assert "s3cret-token" not in token_server.log_text()


def test_not_ready_until_the_index_is_loaded(tmp_path: Path):
    """A first build waits for another writer's lock: meanwhile /readyz and /v1 say 503."""
    from index.lock import index_lock

    home = tmp_path / "home"
    corpus = tmp_path / "small.txt"
    corpus.write_text("# 报告\n\n肉牛养殖量达到131.7万头，同比增长13%。\n", encoding="utf-8")
    with index_lock(home / "kbs" / "default" / "index"):  # the default knowledge base's
        server = start_server(home, ready=False, RAGCHAT_CORPUS=json.dumps([str(corpus)]))
        try:
            assert httpx.get(server.url + "/healthz").status_code == 200
            assert httpx.get(server.url + "/readyz").status_code == 503
            error = assert_error(httpx.post(server.api + "/chat/completions", json=CHAT), 503)
            assert error["code"] == "not_ready"
        except BaseException:
            server.stop()
            raise
    try:
        wait_for(server, "/readyz")
        answer = httpx.post(server.api + "/ask", json={"question": QUESTION}, timeout=120).json()
        assert FIGURE in answer["answer"]
    finally:
        server.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_a_shared_address_without_tokens_is_refused(tmp_path: Path, host: str):
    proc = subprocess.run([sys.executable, "-m", "ragchat", "serve", "--host", host], env=home_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to serve on" in lines[0] and "--insecure" in lines[0]
    assert not (tmp_path / "index").exists() and not (tmp_path / "kbs").exists()  # refused before anything was built


def test_the_server_answers_from_a_version_another_process_wrote(tmp_path: Path):
    """Issue 12: a running server takes the index another process writes, before the next question."""
    corpus = tmp_path / "small.txt"
    corpus.write_text("# 报告\n\n肉牛养殖量达到131.7万头，同比增长13%。\n", encoding="utf-8")
    farm = tmp_path / "farm.txt"
    farm.write_text("农业简报\n\n今年全市新建温室大棚210座。\n", encoding="utf-8")
    server = start_server(tmp_path / "home", RAGCHAT_CORPUS=json.dumps([str(corpus)]))
    try:
        question = {"question": "今年全市新建温室大棚多少座?"}
        assert httpx.post(server.api + "/ask", json=question, timeout=120).json()["refused"]
        for _ in range(2):  # two writes: the version the server loaded would be pruned without its lease
            proc = subprocess.run([sys.executable, "-m", "ragchat", "index", "add", str(farm), str(corpus)],
                                  capture_output=True, text=True, env=server.env, timeout=300)
            assert proc.returncode == 0, proc.stderr
            farm.write_text(farm.read_text(encoding="utf-8") + "全市玉米单产提高到每亩712公斤。\n", encoding="utf-8")
        answer = httpx.post(server.api + "/ask", json=question, timeout=120).json()
        assert not answer["refused"] and "210" in answer["answer"]
        assert Path(answer["citations"][0]["source"]).name == "farm.txt"
        assert FIGURE in httpx.post(server.api + "/ask", json={"question": QUESTION}, timeout=120).json()["answer"]
    finally:
        server.stop()
