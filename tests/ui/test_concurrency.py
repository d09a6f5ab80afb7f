"""Ten users at once, each with a history of their own: no cross-talk."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

pytestmark = pytest.mark.server

# (first question, a fact its answer must hold, follow-up); the follow-up's standalone
# question depends on the session's own first question (上半年 / 下半年 / 2023年8月 / none).
SESSIONS = [
    ("上半年全市GDP增长多少?", "5.3%", "那生态方面呢?"),
    ("上半年红色文旅接待游客多少?", "73.98万", "那民生方面呢?"),
    ("规划建设了多少所社区食堂?", "7所社区食堂", "那生态方面呢?"),
    ("肉牛养殖量达到多少?", "131.7万头", "那民生方面呢?"),
    ("累计建成高标准农田多少亩?", "482万亩", "那生态方面呢?"),
    ("全市农民专业合作社有多少个?", "7297", "那民生方面呢?"),
    ("下半年要推进哪些民生工程?", "", "那生态方面呢?"),
    ("下半年全市工作的总体要求是什么?", "", "那民生方面呢?"),
    ("2023年8月3日召开了什么会议?", "八届六次全会", "那生态方面呢?"),
    ("上半年招商引资取得了什么成效?", "", "那民生方面呢?"),
]


def _conversation(url: str, first: str, follow_up: str) -> tuple[dict, dict, list, float]:
    client = Client(url, verbose=False)
    started = time.perf_counter()
    one = client.predict(first, 5, "extractive", "", "", "", api_name="/chat")
    two = client.predict(follow_up, 5, "extractive", "", "", "", api_name="/chat")
    return one[3], two[3], two[0], time.perf_counter() - started


def test_ten_parallel_sessions_each_get_their_own_answers(ui_app):
    service = ui_app.library.service
    expected = []
    for first, _fact, follow_up in SESSIONS:
        answer = service.answer(first)
        expected.append((answer, service.answer(follow_up, [("user", first), ("assistant", answer.text)])))

    started = time.perf_counter()
    with ThreadPoolExecutor(len(SESSIONS)) as pool:
        results = list(pool.map(lambda s: _conversation(ui_app.url, s[0], s[2]), SESSIONS))
    wall = time.perf_counter() - started
    print(f"\n10 sessions x 2 questions: {wall:.2f} s wall, "
          f"per session {min(r[3] for r in results):.2f}–{max(r[3] for r in results):.2f} s")

    for (first, fact, follow_up), (want_one, want_two), (one, two, messages, _s) in zip(SESSIONS, expected, results):
        assert one["answer"] == want_one.text, first
        assert fact in one["answer"], first
        assert two["standalone_question"] == want_two.standalone_question, first
        assert two["answer"] == want_two.text, first
        # The conversation shown is this session's own: its two questions, in order.
        users = [_text(m) for m in messages if m["role"] == "user"]
        assert len(messages) == 4 and len(users) == 2
        assert first.rstrip("?") in users[0] and follow_up.rstrip("?") in users[1]
    assert len({r[1]["standalone_question"] for r in results}) >= 4
    assert wall < 120


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)
