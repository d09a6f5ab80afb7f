"""Integrity checks for the hand-made evaluation set eval/sets/report_dev.jsonl.

Self-contained on purpose (no project imports): the checks are pure functions
defined here so that the set can be validated independently of the pipeline.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SET_PATH = ROOT / "eval" / "sets" / "report_dev.jsonl"
REPORT_PATH = ROOT / "data" / "corpus" / "siping-plenary-2023-08.txt"

# Photo captions printed inside / after the report; they are not report text.
CAPTIONS = (
    "中共四平市委八届六次全会现场。毛思博 摄",
    "发展中的四平。李敬元 摄",
)

REQUIRED_KEYS = {
    "id": str,
    "question": str,
    "answers": list,
    "evidence": list,
    "answerable": bool,
    "lang": str,
    "type": str,
}

MIN_COUNTS = {
    "figure": 25,
    "entity": 15,
    "paraphrase": 12,
    "broken": 6,
    "section": 5,
    "english": 10,
    "unanswerable": 14,
}
MIN_TOTAL = 90
MIN_EN_UNANSWERABLE = 2

EVIDENCE_MIN_LEN = 6
EVIDENCE_MAX_LEN = 40
EVIDENCE_MAX_COUNT = 3

# Rejoined forms of the six sentences broken by a page break in the source.
BROKEN_SENTENCE_KEYS = (
    "新型经营主体培育3年行动",
    "找差距",
    "试验区建设",
    "专班作用",
    "重污染天气",
    "优良水体比例",
)

_WS = re.compile(r"\s+")
ID_RE = re.compile(r"^rd-\d{3}$")


# --------------------------------------------------------------------------- #
# pure helpers
# --------------------------------------------------------------------------- #
def normalise(text: str) -> str:
    """NFKC, then drop all whitespace."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


def normalised_report(raw: str) -> str:
    """Report text without the photo-caption lines, normalised."""
    lines = [ln for ln in raw.splitlines() if ln.strip() not in CAPTIONS]
    return normalise("\n".join(lines))


def split_sentences(norm_report: str) -> list[str]:
    """Split the normalised report after each Chinese full stop."""
    return [s for s in re.split(r"(?<=。)", norm_report) if s]


def load_items(path: Path) -> list[dict]:
    items = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported by assert
                raise AssertionError(f"line {lineno}: invalid JSON: {exc}") from exc
    return items


def schema_errors(item: dict) -> list[str]:
    errs = []
    if set(item) != set(REQUIRED_KEYS):
        errs.append(f"keys {sorted(item)} != {sorted(REQUIRED_KEYS)}")
    for key, typ in REQUIRED_KEYS.items():
        if key in item and not isinstance(item[key], typ):
            errs.append(f"{key} is {type(item[key]).__name__}, expected {typ.__name__}")
    for key in ("answers", "evidence"):
        if isinstance(item.get(key), list) and not all(
            isinstance(x, str) and x.strip() for x in item[key]
        ):
            errs.append(f"{key} must hold non-empty strings")
    if isinstance(item.get("question"), str) and not item["question"].strip():
        errs.append("empty question")
    if item.get("lang") not in ("zh", "en"):
        errs.append(f"lang {item.get('lang')!r} not zh/en")
    if item.get("type") not in MIN_COUNTS:
        errs.append(f"unknown type {item.get('type')!r}")
    return errs


def missing_in_report(strings: list[str], norm_report: str) -> list[str]:
    return [s for s in strings if normalise(s) not in norm_report]


# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def items() -> list[dict]:
    assert SET_PATH.is_file(), f"missing {SET_PATH}"
    return load_items(SET_PATH)


@pytest.fixture(scope="module")
def report() -> str:
    return normalised_report(REPORT_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- #
# tests of the helpers themselves
# --------------------------------------------------------------------------- #
def test_normalise_maps_fullwidth_and_drops_whitespace():
    assert normalise("到位资金160.53亿元，同比 增长\n38.47%") == "到位资金160.53亿元,同比增长38.47%"
    assert normalise("（草案）") == "(草案)"
    assert normalise("“三农”") == "“三农”"


def test_report_rejoins_broken_sentences(report):
    for caption in CAPTIONS:
        assert normalise(caption) not in report
    for key in BROKEN_SENTENCE_KEYS:
        assert key in report, key


# --------------------------------------------------------------------------- #
# tests of the set
# --------------------------------------------------------------------------- #
def test_schema(items):
    errors = {it.get("id", f"#{i}"): e for i, it in enumerate(items) if (e := schema_errors(it))}
    assert not errors, errors


def test_ids_unique_and_in_order(items):
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]
    assert all(ID_RE.match(i) for i in ids), [i for i in ids if not ID_RE.match(i)]
    assert ids == [f"rd-{n:03d}" for n in range(1, len(ids) + 1)]


def test_questions_unique(items):
    qs = Counter(normalise(it["question"]) for it in items)
    assert not [q for q, c in qs.items() if c > 1]


def test_type_counts(items):
    counts = Counter(it["type"] for it in items)
    assert len(items) >= MIN_TOTAL, len(items)
    short = {t: (counts[t], n) for t, n in MIN_COUNTS.items() if counts[t] < n}
    assert not short, short


def test_answerable_flag_matches_type(items):
    bad = [
        it["id"]
        for it in items
        if it["answerable"] != (it["type"] != "unanswerable")
    ]
    assert not bad, bad


def test_unanswerable_items_are_empty(items):
    bad = [
        it["id"]
        for it in items
        if not it["answerable"] and (it["answers"] or it["evidence"])
    ]
    assert not bad, bad


def test_answerable_items_have_answers_and_evidence(items):
    bad = [
        it["id"]
        for it in items
        if it["answerable"]
        and not (it["answers"] and 1 <= len(it["evidence"]) <= EVIDENCE_MAX_COUNT)
    ]
    assert not bad, bad


def test_lang(items):
    bad = []
    for it in items:
        if it["type"] == "english":
            ok = it["lang"] == "en"
        elif it["type"] == "unanswerable":
            ok = it["lang"] in ("zh", "en")
        else:
            ok = it["lang"] == "zh"
        if not ok:
            bad.append(it["id"])
    assert not bad, bad
    en_unans = [it for it in items if it["type"] == "unanswerable" and it["lang"] == "en"]
    assert len(en_unans) >= MIN_EN_UNANSWERABLE


def test_question_script_matches_lang(items):
    han = re.compile(r"[\u4e00-\u9fff]")
    bad = [
        it["id"]
        for it in items
        if (it["lang"] == "zh") != bool(han.search(it["question"]))
    ]
    assert not bad, bad


def test_evidence_occurs_in_report(items, report):
    missing = {
        it["id"]: m
        for it in items
        if it["answerable"] and (m := missing_in_report(it["evidence"], report))
    }
    assert not missing, missing


def test_answers_occur_in_report(items, report):
    missing = {
        it["id"]: m
        for it in items
        if it["answerable"] and (m := missing_in_report(it["answers"], report))
    }
    assert not missing, missing


def test_evidence_length_and_single_sentence(items):
    bad = {}
    for it in items:
        for ev in it["evidence"]:
            n = normalise(ev)
            if not EVIDENCE_MIN_LEN <= len(n) <= EVIDENCE_MAX_LEN:
                bad.setdefault(it["id"], []).append(f"len {len(n)}: {ev}")
            # a sentence-final full stop may only close the evidence, never sit inside it
            if "。" in n.rstrip("。"):
                bad.setdefault(it["id"], []).append(f"spans sentences: {ev}")
    assert not bad, bad


def test_answers_lie_near_evidence(items, report):
    """Outside section questions, every answer must sit in a sentence that holds evidence."""
    sentences = split_sentences(report)
    bad = {}
    for it in items:
        if not it["answerable"] or it["type"] == "section":
            continue
        evs = [normalise(e) for e in it["evidence"]]
        ctx = "".join(s for s in sentences if any(e in s for e in evs))
        # evidence that is a heading may straddle the sentence split; fall back to a window
        if not ctx:
            ctx = "".join(report[max(0, report.find(e) - 80): report.find(e) + 200] for e in evs)
        miss = [a for a in it["answers"] if normalise(a) not in ctx]
        if miss:
            bad[it["id"]] = miss
    assert not bad, bad


def test_broken_items_cover_each_broken_sentence(items):
    broken_evidence = [
        normalise(e) for it in items if it["type"] == "broken" for e in it["evidence"]
    ]
    uncovered = [k for k in BROKEN_SENTENCE_KEYS if not any(k in e for e in broken_evidence)]
    assert not uncovered, uncovered
