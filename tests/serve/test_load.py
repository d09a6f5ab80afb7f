"""A short load (10 clients for 10 s) against the real server, asserting correctness only: no 5xx or
broken connection, no other error than 429, and each answer equal to its question's answer alone.
The figures (50 clients, 60 s) come from ``make bench-serve`` (docs/serve.md, "Load")."""

from __future__ import annotations

import asyncio

import pytest

from chat.server.bench_load import QUESTIONS
from chat.server.load import baseline, load_questions, run_load

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_a_short_load_answers_every_question_as_alone(server):
    questions = load_questions(QUESTIONS, 8)
    expected = asyncio.run(baseline(server.url, questions))
    assert len({reply.text for reply in expected.values()}) > 1  # the questions get different answers
    run = asyncio.run(run_load(server.url, questions, expected, clients=10, duration_s=10))
    answered = [r for r in run.results if r.status == 200]
    assert answered, "no request was answered"
    assert {r.kind for r in answered} == {"ask", "chat", "stream"}
    assert run.server_errors == []
    assert run.other_errors == []
    assert run.mismatches == []


def test_a_reply_unlike_its_questions_alone_is_a_mismatch():
    from chat.server.load import LoadRun, Reply, Result

    alone = {("ask", 0): Reply("甲 [1]", ("c1",)), ("ask", 1): Reply("乙 [1]", ("c2",))}
    after_upload = {("ask", 0): Reply("丙 [1]", ("c9",))}
    run = LoadRun(1, 1.0, expected=[alone, after_upload])
    run.results = [Result("ask", 0, 200, 0, 0.1, Reply("甲 [1]", ("c1",))),
                   Result("ask", 0, 200, 0, 0.1, Reply("丙 [1]", ("c9",))),  # the new index's answer
                   Result("ask", 1, 200, 0, 0.1, Reply("甲 [1]", ("c1",))),  # question 0's answer
                   Result("ask", 1, 429, 0, 0.0, None)]
    assert [r.question for r in run.mismatches] == [1]
    assert run.busy == 1 and run.server_errors == [] and run.other_errors == []
