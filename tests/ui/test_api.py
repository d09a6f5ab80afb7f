"""The UI's API through gradio_client against the running app: ask, upload, remove, login."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from ragchat.paths import bundled_report

pytestmark = pytest.mark.server

FACT = "星河湾水库的蓄水量为8848万立方米，由青松县水务局管理。"
FACT_QUESTION = "星河湾水库的蓄水量是多少?"


def test_ask_returns_the_answer_json_with_citations(client: Client):
    report = bundled_report().read_text(encoding="utf-8")
    started = time.perf_counter()
    answer = client.predict("规划建设了多少所社区食堂?", None, 5, "extractive", api_name="/ask")
    seconds = time.perf_counter() - started
    assert "7所社区食堂" in answer["answer"] and "[1]" in answer["answer"]
    assert not answer["refused"]
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert citation["quote"] in report
        assert report[citation["start"] : citation["end"]] == citation["quote"]
        assert Path(citation["source"]).name == bundled_report().name
    assert {"retrieved", "checks", "timings_ms", "standalone_question"} <= answer.keys()
    assert seconds < 30


def test_ask_uses_the_given_history(client: Client):
    pairs = [["user", "下半年要推进哪些民生工程?"], ["assistant", "……"]]
    answer = client.predict("那生态方面呢?", pairs, None, None, api_name="/ask")
    assert answer["standalone_question"] == "下半年生态方面"
    messages = [{"role": "user", "content": "下半年要推进哪些民生工程?"}, {"role": "assistant", "content": "……"}]
    again = client.predict("那生态方面呢?", messages, None, None, api_name="/ask")
    assert (again["answer"], again["standalone_question"]) == (answer["answer"], answer["standalone_question"])
    alone = client.predict("那生态方面呢?", None, None, None, api_name="/ask")
    assert alone["standalone_question"] != "下半年生态方面"


def test_ask_refuses_plainly_and_rejects_bad_input(client: Client):
    refused = client.predict("四平市的地铁线路有几条?", None, None, "extractive", api_name="/ask")
    assert refused["refused"] and refused["citations"] == []
    assert refused["answer"] == "文档中没有找到这个问题的答案。"
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", None, None, None, api_name="/ask")
    with pytest.raises(Exception, match="history"):
        client.predict("问题", "not json", None, None, api_name="/ask")


def test_chat_streams_and_keeps_the_session_history(client: Client):
    job = client.submit("上半年全市GDP增长多少?", 5, "extractive", "", "", "", api_name="/chat")
    outputs = job.result(timeout=60)
    messages, sources, warnings, answer, _question = outputs
    assert "5.3%" in answer["answer"]
    assert 'href="#src-1-1"' in _text(messages[-1])
    assert 'id="src-1-1"' in sources and "<mark>" in sources
    follow = client.predict("那生态方面呢?", 5, "extractive", "", "", "", api_name="/chat")
    assert follow[3]["standalone_question"] == "上半年生态方面"
    assert len(follow[0]) == 4
    streamed = client.submit("下半年要推进哪些民生工程?", 5, "extractive", "", "", "", api_name="/chat")
    final = streamed.result(timeout=60)
    partial = [_text(out[0][-1]) for out in streamed.outputs()[:-1] if out[0]]
    assert any(text.endswith("▍") for text in partial), "the answer did not stream"
    assert final[3]["answer"].count("[") >= 1
    cleared = client.predict(api_name="/clear")
    assert cleared[0] == []
    fresh = client.predict("那生态方面呢?", 5, "extractive", "", "", "", api_name="/chat")
    assert fresh[3]["standalone_question"] != "上半年生态方面"


def test_warnings_are_shown_with_the_answer(client: Client):
    long_question = "上半年全市GDP增长多少?" + "请详细说明各项经济指标的变化情况以及原因。" * 40
    outputs = client.predict(long_question, 5, "extractive", "", "", "", api_name="/chat")
    _messages, _sources, warnings, answer, _q = outputs
    assert answer["checks"]["question_truncated"]
    assert "truncated" in warnings and 'role="alert"' in warnings
    assert "truncated" in _text(outputs[0][-1])


def test_upload_makes_a_document_retrievable_and_remove_makes_it_gone(client: Client, ui_app, tmp_path: Path):
    fact = tmp_path / "水库简报.txt"
    fact.write_text(f"# 水库简报\n\n{FACT}\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    binary = tmp_path / "tool.exe"
    binary.write_bytes(b"MZ\x00\x01")
    before = client.predict(FACT_QUESTION, None, None, "extractive", api_name="/ask")
    assert "8848" not in before["answer"]

    outputs = client.predict([handle_file(fact), handle_file(empty), handle_file(binary)], api_name="/upload")
    html, documents, _choices, result, _files, status = outputs
    assert result["added"] == ["水库简报.txt"]
    skipped = {s["file"]: s["reason"] for s in result["skipped"]}
    assert set(skipped) == {"empty.txt", "tool.exe"}
    assert "empty" in skipped["empty.txt"] and "not accepted" in skipped["tool.exe"]
    assert "水库简报.txt" in documents and "skipped" in html
    saved = ui_app.settings.documents_dir / "水库简报.txt"
    assert saved.is_file() and not (ui_app.settings.documents_dir / "empty.txt").exists()
    assert "2 document(s)" in status

    answer = client.predict(FACT_QUESTION, None, None, "extractive", api_name="/ask")
    assert "8848万立方米" in answer["answer"], answer
    assert any(Path(c["source"]).name == "水库简报.txt" for c in answer["citations"])

    listed = client.predict(api_name="/documents")
    doc_id = next(d["doc_id"] for d in listed if Path(d["source"]).name == "水库简报.txt")
    unchanged = client.predict([handle_file(fact)], api_name="/upload")[3]
    assert unchanged["unchanged"] == ["水库简报.txt"] and unchanged["added"] == []

    removed = client.predict([doc_id], api_name="/remove")[3]
    assert removed["removed"] == ["水库简报.txt"]
    assert not saved.exists()
    assert all(Path(d["source"]).name != "水库简报.txt" for d in client.predict(api_name="/documents"))
    gone = client.predict(FACT_QUESTION, None, None, "extractive", api_name="/ask")
    assert "8848" not in gone["answer"]
    assert all(Path(c["source"]).name != "水库简报.txt" for c in gone["citations"])


def test_questions_during_a_reindex_are_answered_from_the_previous_index(ui_app, tmp_path: Path):
    import threading

    from chat.ui.documents import Upload

    library = ui_app.library
    old = library.service
    big = tmp_path / "long.md"
    big.write_text("\n\n".join(f"## 第{i}节\n\n青松县第{i}号水库的库容为{i}万立方米。" * 3 for i in range(60)),
                   encoding="utf-8")
    done = threading.Event()
    answers = []

    def ask_while_indexing():
        while not done.is_set():
            answers.append(library.service.answer("规划建设了多少所社区食堂?"))
            time.sleep(0.05)

    asker = threading.Thread(target=ask_while_indexing)
    asker.start()
    try:
        library.add([Upload(big, "long.md")])
    finally:
        done.set()
        asker.join()
    try:
        assert answers and all("7所社区食堂" in a.text for a in answers)
        assert library.service is not old
        assert len(library.service.snapshot.documents) == len(old.snapshot.documents) + 1
        assert len(old.snapshot.documents) == 1  # the old service was never changed
    finally:
        library.remove([d["doc_id"] for d in library.documents() if Path(d["source"]).name == "long.md"])


def test_login_when_a_username_is_set(ui_app, start_ui, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCHAT_UI_PASSWORD", "s3cret-pass")
    guarded = start_ui(tmp_path, library=ui_app.library, auth_username="alice")
    try:
        with pytest.raises(Exception):
            Client(guarded.url, verbose=False).predict("上半年全市GDP增长多少?", None, None, None, api_name="/ask")
        with pytest.raises(Exception):
            Client(guarded.url, auth=("alice", "wrong"), verbose=False)
        logged_in = Client(guarded.url, auth=("alice", "s3cret-pass"), verbose=False)
        answer = logged_in.predict("上半年全市GDP增长多少?", None, None, None, api_name="/ask")
        assert "5.3%" in answer["answer"]
    finally:
        guarded.demo.close()


def test_login_needs_its_password(tmp_path, monkeypatch):
    from chat.ui.app import auth_from_settings
    from ragchat.errors import ConfigError
    from ragchat.settings import load_settings

    monkeypatch.delenv("RAGCHAT_UI_PASSWORD", raising=False)
    assert auth_from_settings(load_settings()) is None  # off by default
    settings = load_settings()
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"auth_username": "alice"})})
    with pytest.raises(ConfigError, match="RAGCHAT_UI_PASSWORD"):
        auth_from_settings(settings)
    monkeypatch.setenv("RAGCHAT_UI_PASSWORD", "pw")
    assert auth_from_settings(settings) == ("alice", "pw")


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


@pytest.mark.parametrize("k", [0, -1, 101, 10**6, 1.5, "abc", True])
def test_ask_and_chat_reject_a_bad_k_with_the_services_message(client: Client, k):
    message = r"k \(passages to retrieve\) must be a whole number from 1 to 100"
    with pytest.raises(Exception, match=message):
        client.predict("规划建设了多少所社区食堂?", None, k, "extractive", api_name="/ask")
    if not isinstance(k, str):  # /chat's slider (1 to 20) turns away what is out of its range first
        with pytest.raises(Exception, match=message + "|less than minimum value 1|greater than maximum value 20"):
            client.predict("规划建设了多少所社区食堂?", k, "extractive", "", "", "", api_name="/chat")


def test_ask_and_chat_take_a_whole_k(client: Client):
    assert len(client.predict("规划建设了多少所社区食堂?", None, 1, "extractive", api_name="/ask")["retrieved"]) >= 1
    messages, *_ = client.predict("规划建设了多少所社区食堂?", 3.0, "extractive", "", "", "", api_name="/chat")
    assert "7所社区食堂" in str(messages[-1]["content"])
