"""Shared fixtures of the eval tests: a tiny JSONL set and one embedding cache for the session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Taken from eval/sets/report_dev.jsonl, plus one item whose key fact the report does not hold,
# so that every run has a wrong item to report.
TINY = [
    {"id": "t-1", "question": "四平市累计建成了多少高标准农田？", "answers": ["482万亩"],
     "evidence": ["累计建成高标准农田482万亩"], "answerable": True, "lang": "zh", "type": "figure"},
    {"id": "t-2", "question": "四平市委八届六次全会是哪天召开的？", "answers": ["2023年8月3日"],
     "evidence": ["四平市委八届六次全会于2023年8月3日召开"], "answerable": True, "lang": "zh", "type": "entity"},
    {"id": "t-3", "question": "上半年四平全市GDP增长了多少？", "answers": ["5.3%"],
     "evidence": ["上半年全市GDP增长5.3%"], "answerable": True, "lang": "zh", "type": "figure"},
    {"id": "t-4", "question": "四平市的地铁线路有几条？", "answers": [], "evidence": [],
     "answerable": False, "lang": "zh", "type": "unanswerable"},
    {"id": "t-5", "question": "四平市累计建成了多少高标准农田？", "answers": ["999万亩"],
     "evidence": ["累计建成高标准农田482万亩"], "answerable": True, "lang": "zh", "type": "figure"},
]


def write_set(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_items() -> list[dict]:
    return [dict(item) for item in TINY]


@pytest.fixture(scope="session")
def make_set():
    """``make_set(path, items)`` writes a JSONL set (test modules cannot import conftest)."""
    return write_set


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    return write_set(tmp_path_factory.mktemp("sets") / "tiny.jsonl", TINY)


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory) -> Path:
    """One embedding cache for all eval tests: the report is embedded once per session."""
    return tmp_path_factory.mktemp("eval-cache")
