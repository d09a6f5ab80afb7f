"""A short load (10 clients for 10 s, one document uploaded 3 s in) against the real server,
asserting correctness only: no 5xx or broken connection, no other error than 429, each answer equal
to its question's answer alone (from the old or the new index), and the upload lost nothing: the
job's report lists the document as added, the KB lists it, and its question cites it afterwards.
The figures (50 clients, 60 s) come from ``make bench-serve`` (docs/serve.md, "Load")."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chat.server.bench_load import QUESTIONS
from chat.server.load import UPLOAD_NAME, UPLOAD_QUESTION, baseline, load_questions, measure

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_a_short_load_with_an_upload_answers_every_question_as_alone(server):
    questions = load_questions(QUESTIONS, 8)
    try:
        run = asyncio.run(measure(server.url, questions, clients=10, duration_s=10, with_upload=True))
    finally:  # the other tests share this server's default KB: remove the document again
        httpx.delete(f"{server.api}/kbs/default/documents/{UPLOAD_NAME}", timeout=120)
    before, after = run.expected
    assert len({reply.text for reply in before.values()}) > 1  # the questions get different answers
    upload_question = len(questions)  # measure() adds it: the upload changes its answer
    assert before[("ask", upload_question)] != after[("ask", upload_question)]
    answered = [r for r in run.results if r.status == 200]
    assert answered, "no request was answered"
    assert {r.kind for r in answered} == {"ask", "chat", "stream"}
    assert run.server_errors == []
    assert run.other_errors == []
    assert run.mismatches == []
    upload = run.upload
    assert upload is not None and upload.status == 202 and upload.state == "done", upload
    assert upload.added == (UPLOAD_NAME,) and upload.listed and upload.cited, upload
    assert upload.ok
    assert any(r.started_s < 10 / 3 for r in answered) and any(r.started_s > 10 / 3 for r in answered)


def test_without_the_document_its_question_does_not_cite_it(server):
    """The check that the new document is cited can fail: without it (before the upload, or once the
    load test removed it again) nothing cited is the document."""
    answer = httpx.post(f"{server.api}/ask", json={"question": UPLOAD_QUESTION}, timeout=120).json()
    assert all(not c["source"].endswith(UPLOAD_NAME) for c in answer["citations"])


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
    assert [r.reply.text for r in run.from_new_index] == ["丙 [1]"]


def test_an_upload_missing_from_the_list_or_uncited_is_not_ok():
    from chat.server.load import Upload

    done = dict(status=202, job="job-1", state="done", added=(UPLOAD_NAME,))
    assert Upload(**done, listed=True, cited=True).ok
    assert not Upload(**done, listed=False, cited=True).ok
    assert not Upload(**done, listed=True, cited=False).ok
    assert not Upload(**{**done, "added": ()}, listed=True, cited=True).ok
    assert "FAILED" in Upload(status=413, detail="too large").line()


@pytest.mark.parametrize("n_questions", [1, 8, 9, 21])
def test_each_client_asks_every_question_by_every_route(n_questions):
    from chat.server.load import KINDS, plan

    for start in (0, 7, 12):
        asked = {plan(turn, n_questions) for turn in range(start, start + len(KINDS) * n_questions)}
        assert asked == {(kind, q) for kind in KINDS for q in range(n_questions)}
