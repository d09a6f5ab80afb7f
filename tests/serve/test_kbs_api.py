"""Knowledge bases over HTTP: create one, upload to it (a job), ask it through the official
``openai`` client, list and delete its documents, delete it; the error statuses; admin tokens;
the upload route's own body limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import FIGURE, QUESTION, Server, start_server
from tests.serve.test_http_api import assert_error

pytestmark = [pytest.mark.server, pytest.mark.slow]

KB = "农业"
FARM = "农业简报\n\n今年全市新建温室大棚210座，带动就业3400人。\n"
FARM_QUESTION = "今年全市新建温室大棚多少座?"
READ, ADMIN = "read-token", "admin-token"


def follow(api: str, job: dict, headers: dict | None = None, timeout: float = 600) -> dict:
    """Poll ``GET /v1/jobs/{id}`` until the job ends; the progress never goes back."""
    deadline, seen = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        job = httpx.get(f"{api}/jobs/{job['id']}", headers=headers).json()
        assert 0.0 <= job["progress"] <= 1.0 and job["progress"] >= seen
        seen = job["progress"]
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} did not end in {timeout} s")


def upload(api: str, kb: str, files: list[tuple[str, bytes]], headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{api}/kbs/{kb}/documents", files=[("files", (n, data)) for n, data in files],
                      headers=headers, timeout=120)


def test_a_knowledge_base_from_creation_to_deletion(server: Server):
    from openai import NotFoundError, OpenAI

    api = server.api
    client = OpenAI(base_url=api, api_key="not-needed", max_retries=0, timeout=120)
    created = httpx.post(f"{api}/kbs", json={"name": KB})
    assert created.status_code == 201 and created.json()["name"] == KB and created.json()["documents"] == 0
    assert assert_error(httpx.post(f"{api}/kbs", json={"name": KB}), 409)["code"] == "kb_exists"
    assert f"ragchat/{KB}" in [m.id for m in client.models.list()]
    empty = httpx.post(f"{api}/chat/completions", json={"model": f"ragchat/{KB}",
                                                        "messages": [{"role": "user", "content": FARM_QUESTION}]})
    assert assert_error(empty, 409)["code"] == "kb_empty"

    accepted = upload(api, KB, [("farm.txt", FARM.encode()), ("photo.bin", b"\x00\x01" * 100),
                                ("blank.txt", b"   \n")])
    assert accepted.status_code == 202 and accepted.headers["location"] == f"/v1/jobs/{accepted.json()['id']}"
    job = follow(api, accepted.json())
    assert job["state"] == "done" and job["kb"] == KB, job
    report = job["result"]
    assert report["added"] == ["farm.txt"] and report["n_documents"] == 1
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"photo.bin", "blank.txt"} and "not accepted" in skipped["photo.bin"]
    assert "empty" in skipped["blank.txt"]

    completion = client.chat.completions.create(model=f"ragchat/{KB}",
                                                messages=[{"role": "user", "content": FARM_QUESTION}])
    assert "210" in completion.choices[0].message.content
    assert {Path(c["source"]).name for c in completion.model_extra["citations"]} == {"farm.txt"}
    native = httpx.post(f"{api}/ask", json={"question": FARM_QUESTION, "kb": KB}, timeout=120).json()
    assert "210" in native["answer"]
    default = client.chat.completions.create(model="ragchat/default", messages=[{"role": "user", "content": QUESTION}])
    assert FIGURE in default.choices[0].message.content
    assert all(Path(c["source"]).name != "farm.txt" for c in default.model_extra["citations"])

    status = httpx.get(f"{api}/kbs/{KB}").json()
    assert status["documents"] == 1 and status["chunks"] >= 1 and status["built_at"] and status["state"] == "ready"
    assert status["embedding_model"]
    listed = httpx.get(f"{api}/kbs").json()["data"]
    assert [k["name"] for k in listed][0] == "default" and KB in [k["name"] for k in listed]
    docs = httpx.get(f"{api}/kbs/{KB}/documents").json()["data"]
    assert [(d["name"], d["n_chunks"] >= 1) for d in docs] == [("farm.txt", True)]

    assert assert_error(httpx.delete(f"{api}/kbs/{KB}/documents/nope.txt"), 404)["code"] == "document_not_found"
    removed = httpx.delete(f"{api}/kbs/{KB}/documents/{docs[0]['doc_id']}", timeout=120)
    assert removed.status_code == 200 and removed.json()["removed"] == ["farm.txt"]
    assert httpx.get(f"{api}/kbs/{KB}/documents").json()["data"] == []

    assert httpx.delete(f"{api}/kbs/{KB}", timeout=60).json()["deleted"] is True
    assert assert_error(httpx.get(f"{api}/kbs/{KB}"), 404)["code"] == "kb_not_found"
    assert f"ragchat/{KB}" not in [m.id for m in client.models.list()]
    with pytest.raises(NotFoundError):
        client.chat.completions.create(model=f"ragchat/{KB}", messages=[{"role": "user", "content": FARM_QUESTION}])
    assert not (server.home / "kbs" / KB).exists()


def test_error_statuses(server: Server):
    api = server.api
    assert assert_error(httpx.get(f"{api}/kbs/nope"), 404)["code"] == "kb_not_found"
    assert assert_error(httpx.get(f"{api}/kbs/nope/documents"), 404)["code"] == "kb_not_found"
    assert assert_error(upload(api, "nope", [("a.txt", b"text")]), 404)["code"] == "kb_not_found"
    assert assert_error(httpx.post(f"{api}/ask", json={"question": QUESTION, "kb": "nope"}), 404)["code"] == "kb_not_found"
    assert assert_error(httpx.get(f"{api}/jobs/job-nope"), 404)["code"] == "job_not_found"
    assert assert_error(httpx.delete(f"{api}/kbs/default"), 409)["code"] == "kb_protected"
    for name in ("a.b", "..", "x" * 65, ""):
        assert assert_error(httpx.post(f"{api}/kbs", json={"name": name}), 422)["code"] in ("invalid_kb_name",)
    assert assert_error(httpx.post(f"{api}/kbs", json={"nom": "b"}), 422)["code"] == "invalid_value"
    assert assert_error(httpx.post(f"{api}/kbs/default/documents", json={"files": []}), 422)["code"] == "invalid_value"
    assert not (server.home / "kbs" / "a.b").exists()


def test_an_upload_may_be_larger_than_the_json_limit(server: Server):
    """serve.max_body_kb (1 MiB) limits JSON bodies; the upload route has its own limit."""
    big = b"x" * (3 * 2**20 // 2)
    assert httpx.post(f"{server.api}/ask", content=big, headers={"content-type": "application/json"}).status_code == 413
    accepted = upload(server.api, "default", [("big.bin", big)])
    assert accepted.status_code == 202, accepted.text
    job = follow(server.api, accepted.json())
    assert job["state"] == "done" and job["result"]["skipped"][0]["file"] == "big.bin"  # refused for its type


@pytest.fixture(scope="module")
def guarded(server: Server) -> Iterator[Server]:
    """A server on the same home with a read-only and an admin token, and small upload limits."""
    running = start_server(server.home, RAGCHAT_SERVE__TOKENS=f'["{READ}"]',
                           RAGCHAT_SERVE__ADMIN_TOKENS=f'["{ADMIN}"]', RAGCHAT_UI__MAX_UPLOAD_MB="1",
                           RAGCHAT_SERVE__MAX_UPLOAD_FILES="2")
    try:
        yield running
    finally:
        running.stop()


def test_read_only_and_admin_tokens(guarded: Server):
    api = guarded.api
    read, admin = {"Authorization": f"Bearer {READ}"}, {"Authorization": f"Bearer {ADMIN}"}
    assert_error(httpx.get(f"{api}/kbs"), 401)
    assert httpx.get(f"{api}/kbs", headers=read).status_code == 200
    assert httpx.get(f"{api}/kbs/default", headers=read).status_code == 200
    assert httpx.post(f"{api}/ask", json={"question": QUESTION}, headers=read, timeout=120).status_code == 200
    for response in (httpx.post(f"{api}/kbs", json={"name": "t"}, headers=read),
                     httpx.delete(f"{api}/kbs/default", headers=read),
                     upload(api, "default", [("a.txt", b"text")], headers=read),
                     httpx.delete(f"{api}/kbs/default/documents/x", headers=read)):
        error = assert_error(response, 403)
        assert error["code"] == "admin_token_required" and error["type"] == "permission_error"
    assert not (guarded.home / "kbs" / "t").exists()
    assert httpx.post(f"{api}/kbs", json={"name": "t"}, headers=admin).status_code == 201
    assert httpx.post(f"{api}/ask", json={"question": QUESTION}, headers=admin, timeout=120).status_code == 200
    assert httpx.delete(f"{api}/kbs/t", headers=admin, timeout=60).status_code == 200
    assert READ not in guarded.log_text() and ADMIN not in guarded.log_text()


def test_the_upload_limit_is_files_times_the_file_limit(guarded: Server):
    """ui.max_upload_mb = 1 and serve.max_upload_files = 2: a body over 3 MiB is 413, a file over 1 MiB is skipped."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    too_large = upload(guarded.api, "default", [("a.txt", b"x" * (2 * 2**20)), ("b.txt", b"x" * (2 * 2**20))],
                       headers=admin)
    assert assert_error(too_large, 413)["code"] == "request_too_large"
    many = upload(guarded.api, "default", [(f"{i}.txt", b"x") for i in range(3)], headers=admin)
    assert assert_error(many, 413)["code"] == "too_many_files"
    accepted = upload(guarded.api, "default", [("c.txt", b"x" * (3 * 2**20 // 2))], headers=admin)
    assert accepted.status_code == 202
    job = follow(guarded.api, accepted.json(), headers=admin)
    assert "larger than the 1 MiB limit" in job["result"]["skipped"][0]["reason"]


def _log_line(server: Server, response: httpx.Response) -> str:
    """The request log line of ``response`` (by its X-Request-ID)."""
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in server.log_text().splitlines() if f" {request_id} " in line]
        if lines:
            return lines[0]
        time.sleep(0.1)
    raise AssertionError(f"no log line for {request_id}")


def test_a_conversation_is_answered_from_its_own_knowledge_base(server: Server):
    """/v1/ask with a conversation and no kb answers from the conversation's KB; naming another KB
    is a 409; the request log names the KB that answered, the default one's too."""
    api, kb = server.api, "会话库"
    assert httpx.post(f"{api}/kbs", json={"name": kb}).status_code == 201
    try:
        job = follow(api, upload(api, kb, [("farm.txt", FARM.encode())]).json())
        assert job["state"] == "done", job
        conversation = httpx.post(f"{api}/conversations", json={"model": f"ragchat/{kb}"}).json()
        asked = httpx.post(f"{api}/ask", json={"question": FARM_QUESTION, "conversation_id": conversation["id"]},
                           timeout=120)
        assert asked.status_code == 200 and "210" in asked.json()["answer"], asked.text
        assert {Path(c["source"]).name for c in asked.json()["citations"]} == {"farm.txt"}
        assert f" model={kb} status=200 " in _log_line(server, asked)

        other = httpx.post(f"{api}/ask", json={"question": QUESTION, "conversation_id": conversation["id"],
                                               "kb": "default"}, timeout=120)
        assert assert_error(other, 409)["code"] == "conversation_kb_mismatch"
        chat = httpx.post(f"{api}/chat/completions", timeout=120, json={
            "model": "ragchat/default", "conversation_id": conversation["id"],
            "messages": [{"role": "user", "content": QUESTION}]})
        assert assert_error(chat, 409)["code"] == "conversation_kb_mismatch"
        turns = httpx.get(f"{api}/conversations/{conversation['id']}").json()["turns"]
        assert turns == 1  # the refused requests stored nothing

        plain = httpx.post(f"{api}/ask", json={"question": QUESTION}, timeout=120)
        assert plain.status_code == 200 and FIGURE in plain.json()["answer"]
        assert " POST /v1/ask model=default status=200 " in _log_line(server, plain)
        httpx.delete(f"{api}/conversations/{conversation['id']}")
    finally:
        httpx.delete(f"{api}/kbs/{kb}", timeout=60)
