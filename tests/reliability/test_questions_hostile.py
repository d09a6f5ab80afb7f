"""Hostile questions on the real default service over the bundled report (issue 12, items 4 and 8).

Gibberish is refused (a refusal Answer, no citations); a broken question gives a refusal or a
typed error, never another exception; ``k`` is checked where every front end's request passes.
Random strings come from a fixed seed, so a failure names a string that can be tried again.
"""

from __future__ import annotations

import json
import random
import string

import pytest

from chat.service import AnswerService
from ingest.charclass import is_cjk
from ragchat.errors import EmptyQuestionError, InvalidRequestError, RagchatError
from ragchat.settings import load_settings

pytestmark = pytest.mark.reliability

SEED = 12
OFF_TOPIC = [  # things the report never mentions
    "如何烤制法式面包?",
    "莎士比亚写过哪些悲剧?",
    "比特币的创始人是谁?",
    "量子计算机的纠错码怎么实现?",
    "巴黎圣母院是哪年建成的?",
    "火星上有多少颗卫星?",
    "区块链智能合约的gas费用是多少?",
    "Who won the 1998 FIFA World Cup?",
    "How do I bake a sourdough bread?",
    "四平市的地铁线路有几条?",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> AnswerService:
    return AnswerService.from_settings(load_settings(home=tmp_path_factory.mktemp("hostile-home")))


@pytest.fixture(scope="module")
def report_chars(report_text) -> list[str]:
    return [ch for ch in report_text if is_cjk(ch)]


def _refused(service: AnswerService, question: str) -> bool:
    answer = service.answer(question)
    assert not answer.refused or (answer.citations == [] and answer.refusal_reason), question
    return answer.refused


def _strings(rng: random.Random, draw, lengths, per_length: int) -> list[str]:
    return ["".join(draw() for _ in range(n)) for n in lengths for _ in range(per_length)]


def test_random_cjk_strings_are_refused(service):
    rng = random.Random(SEED)
    strings = _strings(rng, lambda: chr(rng.randint(0x4E00, 0x9FFF)), (8, 12, 20, 40, 60, 100, 200), 5)
    answered = [s for s in strings if not _refused(service, s)]
    assert answered == []


def test_the_reports_own_characters_at_random_are_refused(service, report_chars):
    """Drawn from the report, they share terms with its passages by chance: they were answered
    (42 of 56 in a probe) until a long question had to be made of words. Strings under 20
    characters are not judged so (a real short question that names a person scores as low), and
    about 4 in 10 of them are still answered: a known limit (docs/reliability.md)."""
    rng = random.Random(SEED)
    long = _strings(rng, lambda: rng.choice(report_chars), (30, 60, 100, 200), 10)
    assert [s for s in long if not _refused(service, s)] == []


def test_latin_emoji_and_repeated_strings_are_refused_or_rejected(service):
    rng = random.Random(SEED)
    alphabet = string.ascii_letters + string.digits + string.punctuation + "😀🙃🚀 "
    strings = _strings(rng, lambda: rng.choice(alphabet), (8, 20, 60, 200), 3)
    strings += ["啊" * 60, "的" * 100, "哈" * 8, "a" * 100, "xyz " * 30, "？" * 50, "🙂" * 20]
    for s in strings:
        try:
            assert _refused(service, s), s
        except EmptyQuestionError:  # nothing to search for: the typed error
            pass


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_questions_about_what_the_report_never_mentions_are_refused(service, question):
    assert _refused(service, question)


def test_a_real_question_is_still_answered(service):
    assert not _refused(service, "规划建设了多少所社区食堂?")


BROKEN = {
    "empty": "",
    "whitespace": " \t\n\u3000 ",
    "punctuation": "？！。，…——",
    "10000 characters": "四平市" + "规划建设" * 2500,
    "NUL bytes": "社区食堂\x00\x00有多少所?\x00",
    "lone surrogates": "\udcff\udcfe规划建设了多少所社区食堂?\ud800",
    "only surrogates": "\udcff\udcfe\ud800",
    "control characters": "\x01\x02\x1b[31m规划建设了多少所\x7f社区食堂?\x08",
    "RTL marks": "\u200f\u202e规划建设了多少所社区食堂?\u202c\u200f",
    "only RTL marks": "\u200f\u202e\u202c",
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_question_gives_a_refusal_an_answer_or_a_typed_error(service, name):
    try:
        answer = service.answer(BROKEN[name])
    except RagchatError as exc:
        assert isinstance(exc, EmptyQuestionError) and "\n" not in str(exc) and str(exc)
        return
    encoded = json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")  # strict: no lone surrogate
    assert json.loads(encoded)["question"] == answer.question
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in answer.question)
    assert "\x00" not in answer.question
    assert answer.refused or answer.citations


def test_undecodable_bytes_become_the_replacement_character(service):
    answer = service.answer("\udcff规划建设了多少所社区食堂?")
    assert answer.question == "\ufffd规划建设了多少所社区食堂?"
    assert not answer.refused and "7所社区食堂" in answer.text


@pytest.mark.parametrize("k", [0, -1, 101, 10**9, 1.5, float("nan"), float("inf"), True, "abc", "5", [5]])
def test_a_bad_k_is_a_typed_error_for_answer_stream_and_retrieve(service, k):
    message = r"k \(passages to retrieve\) must be a whole number from 1 to 100"
    with pytest.raises(InvalidRequestError, match=message):
        service.answer("规划建设了多少所社区食堂?", k=k)
    with pytest.raises(InvalidRequestError):
        next(service.stream("规划建设了多少所社区食堂?", k=k))
    with pytest.raises(InvalidRequestError):
        service.retrieve("规划建设了多少所社区食堂?", k=k)


@pytest.mark.parametrize("k", [1, 100, 3.0, None])
def test_a_good_k_is_used(service, k):
    answer = service.answer("规划建设了多少所社区食堂?", k=k)
    assert not answer.refused and "7所社区食堂" in answer.text
    request = service.retrieve("规划建设了多少所社区食堂?", k=k).prepared.request
    assert request.k == (None if k is None else int(k)) and type(request.k) in (int, type(None))
