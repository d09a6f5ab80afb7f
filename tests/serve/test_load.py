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
