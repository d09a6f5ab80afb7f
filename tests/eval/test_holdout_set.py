"""Integrity checks for the held-out evaluation sets eval/sets/report_holdout*.jsonl.

The sets were written without looking at the answering code; these tests only check
that they are well formed and that their answers and evidence really come from the report.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from eval.sets import load_jsonl
from eval.textnorm import norm
from ragchat.paths import bundled_report

SETS = Path(__file__).resolve().parents[2] / "eval" / "sets"
HOLDOUTS = [
    "report_holdout.jsonl",
    "report_holdout2.jsonl",
    "report_holdout3.jsonl",
    "report_holdout4.jsonl",
    "report_holdout5.jsonl",
    "report_holdout6.jsonl",
]

# Photo captions printed inside the report; dropping them rejoins the sentence they split.
CAPTIONS = (
    "中共四平市委八届六次全会现场。毛思博 摄",
    "发展中的四平。李敬元 摄",
)
TYPES = {"figure", "entity", "paraphrase", "broken", "section", "english", "unanswerable", "list", "date", "reason"}
MIN_TOTAL = 60
MIN_UNANSWERABLE = 12
MIN_ENGLISH = 6


@pytest.fixture(scope="module", params=HOLDOUTS)
def set_path(request) -> Path:
    return SETS / request.param


@pytest.fixture(scope="module")
def raw_rows(set_path) -> list[dict]:
    lines = set_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def items(set_path):
    return load_jsonl(set_path).items


@pytest.fixture(scope="module")
def report() -> str:
    raw = bundled_report().read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() not in CAPTIONS]
    return norm("\n".join(lines))


@pytest.fixture(scope="module")
def sentences(report) -> list[str]:
    return [s for s in re.split(r"(?<=。)", report) if s]


def test_every_line_parses(raw_rows, items):
    assert len(items) == len(raw_rows)
    for row in raw_rows:
        assert set(row) == {"id", "question", "answers", "evidence", "answerable", "lang", "type"}, row
        assert row["type"] in TYPES, row["id"]
        assert row["lang"] in ("zh", "en"), row["id"]
        assert row["question"].strip(), row["id"]


def test_ids_unique(items):
    ids = [it.id for it in items]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]


def test_questions_unique(items):
    qs = Counter(norm(it.question) for it in items)
    assert not [q for q, c in qs.items() if c > 1]


def test_counts(items):
    assert len(items) >= MIN_TOTAL
    assert sum(not it.answerable for it in items) >= MIN_UNANSWERABLE
    assert sum(it.lang == "en" for it in items) >= MIN_ENGLISH
    assert sum(it.type == "english" for it in items) >= MIN_ENGLISH


def test_answerable_flag_matches_type(items):
    bad = [it.id for it in items if it.answerable != (it.type != "unanswerable")]
    assert not bad, bad


def test_unanswerable_items_are_empty(items):
    bad = [it.id for it in items if not it.answerable and (it.answers or it.evidence)]
    assert not bad, bad


def test_answerable_items_have_answers_and_evidence(items):
    bad = [
        it.id
        for it in items
        if it.answerable
        and not (it.answers and it.evidence and all(s.strip() for s in it.answers + it.evidence))
    ]
    assert not bad, bad


def test_evidence_occurs_in_report(items, report):
    missing = {
        it.id: m for it in items if it.answerable and (m := [e for e in it.evidence if norm(e) not in report])
    }
    assert not missing, missing


def test_answers_occur_in_report(items, report):
    missing = {
        it.id: m for it in items if it.answerable and (m := [a for a in it.answers if norm(a) not in report])
    }
    assert not missing, missing


def test_answers_lie_near_evidence(items, sentences):
    """Outside section questions, each answer sits in a sentence that holds one of the evidence strings."""
    bad = {}
    for it in items:
        if not it.answerable or it.type == "section":
            continue
        evs = [norm(e) for e in it.evidence]
        ctx = "".join(s for s in sentences if any(e in s for e in evs))
        miss = [a for a in it.answers if norm(a) not in ctx]
        if miss:
            bad[it.id] = miss
    assert not bad, bad


def test_english_questions_are_english(items):
    han = re.compile(r"[\u4e00-\u9fff]")
    bad = [it.id for it in items if (it.lang == "zh") != bool(han.search(it.question))]
    assert not bad, bad
