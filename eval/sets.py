"""Eval sets: our JSONL format, and SQuAD-style JSON (CMRC 2018)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ragchat.errors import RagchatError

REPORT_DEV = Path(__file__).resolve().parent / "sets" / "report_dev.jsonl"
REPORT_HOLDOUT = Path(__file__).resolve().parent / "sets" / "report_holdout.jsonl"
REPORT_HOLDOUT2 = Path(__file__).resolve().parent / "sets" / "report_holdout2.jsonl"
REPORT_HOLDOUT3 = Path(__file__).resolve().parent / "sets" / "report_holdout3.jsonl"
REPORT_HOLDOUT4 = Path(__file__).resolve().parent / "sets" / "report_holdout4.jsonl"
REPORT_HOLDOUT5 = Path(__file__).resolve().parent / "sets" / "report_holdout5.jsonl"
REPORT_HOLDOUT6 = Path(__file__).resolve().parent / "sets" / "report_holdout6.jsonl"
BLIND5 = Path(__file__).resolve().parent / "data" / "blind5" / "blind5.json"
BLIND6 = Path(__file__).resolve().parent / "data" / "blind6" / "blind6.json"
BLIND7 = Path(__file__).resolve().parent / "data" / "blind7" / "blind7.json"
BLIND8 = Path(__file__).resolve().parent / "data" / "blind8" / "blind8.json"
BLIND9 = Path(__file__).resolve().parent / "data" / "blind9" / "blind9.json"
BLIND10 = Path(__file__).resolve().parent / "data" / "blind10" / "blind10.json"
BLIND11 = Path(__file__).resolve().parent / "data" / "blind11" / "blind11.json"
BLIND12 = Path(__file__).resolve().parent / "data" / "blind12" / "blind12.json"
BLIND13 = Path(__file__).resolve().parent / "data" / "blind13" / "blind13.json"
BLIND14 = Path(__file__).resolve().parent / "data" / "blind14" / "blind14.json"
BLIND15 = Path(__file__).resolve().parent / "data" / "blind15" / "blind15.json"
BLIND16 = Path(__file__).resolve().parent / "data" / "blind16" / "blind16.json"
BLIND17 = Path(__file__).resolve().parent / "data" / "blind17" / "blind17.json"
BLIND18 = Path(__file__).resolve().parent / "data" / "blind18" / "blind18.json"
BLIND19 = Path(__file__).resolve().parent / "data" / "blind19" / "blind19.json"
# training sets of the answer selector and refusal model (eval/train.py), never evaluated on
GEN_SETS = tuple(Path(__file__).resolve().parent / "data" / f"gen{n}" / f"gen{n}.json" for n in range(1, 9))
CMRC_SPLIT = Path(__file__).resolve().parent / "sets" / "cmrc_dev_split.json"
SPLITS = ("train", "test")


class EvalSetError(RagchatError):
    """An eval set file is missing or malformed."""


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool = True
    lang: str = "zh"
    type: str = "other"
    gold: tuple[str, ...] = ()  # SQuAD-style: every human answer
    context: str = ""  # SQuAD-style: the id of the question's own passage
    without_context: bool = False  # asked with its own passage left out of the index: should be refused


@dataclass
class EvalSet:
    name: str
    items: list[EvalItem]
    passages: list[tuple[str, str]] = field(default_factory=list)  # SQuAD-style: (id, text) collection
    # SQuAD-style: a passage's document title, for documents of several paragraphs (see load_squad)
    titles: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    sample: dict | None = None  # {"limit": n, "seed": s, "of": total} when a fixed sample was taken


_REQUIRED = ("id", "question", "answers", "evidence", "answerable")


def load_jsonl(path: Path | str) -> EvalSet:
    path = Path(path)
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalSetError(f"cannot read eval set {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{path}:{n}: not JSON ({exc.msg})") from None
        missing = [k for k in _REQUIRED if k not in row]
        if missing:
            raise EvalSetError(f"{path}:{n}: missing keys {', '.join(missing)}")
        items.append(EvalItem(
            id=str(row["id"]), question=row["question"], answers=tuple(row["answers"]),
            evidence=tuple(row["evidence"]), answerable=bool(row["answerable"]),
            lang=row.get("lang", "zh"), type=row.get("type", "other"),
        ))
    if not items:
        raise EvalSetError(f"{path}: no questions")
    return EvalSet(path.stem, items, path=path)


def load_squad(path: Path | str, limit: int | None = None, seed: int = 2018) -> EvalSet:
    """SQuAD-style JSON: every paragraph becomes a passage of the collection,
    every question is asked against the whole collection; a question marked
    ``is_impossible`` (SQuAD 2.0) is unanswerable. ``limit`` takes a
    fixed random sample of questions (same ``seed``, same sample)."""
    import random

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise EvalSetError(f"cannot read SQuAD-style set {path}: {exc}") from None
    passages, items, titles = [], [], {}
    for article in data:
        several = len(article["paragraphs"]) > 1
        for para in article["paragraphs"]:
            passages.append((para["id"], para["context"]))
            if several and article.get("title", "").strip():
                titles[para["id"]] = article["title"].strip()
            for qa in para["qas"]:
                gold = () if qa.get("is_impossible") else tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                items.append(EvalItem(
                    id=qa["id"], question=qa["question"], answers=gold[:1], evidence=gold,
                    answerable=bool(gold), lang="zh", type="cmrc" if gold else "unanswerable", gold=gold,
                    context=para["id"],
                ))
    sample = None
    if limit is not None and limit < len(items):
        sample = {"limit": limit, "seed": seed, "of": len(items)}
        items = sorted(random.Random(seed).sample(items, limit), key=lambda i: i.id)
    return EvalSet(path.stem.removeprefix("squad-style-data_"), items, passages, titles, path=path, sample=sample)


def split_ids(split: str, path: Path = CMRC_SPLIT) -> frozenset[str]:
    """The passage ids of one side (``train`` or ``test``) of the fixed CMRC 2018 dev split."""
    if split not in SPLITS:
        raise EvalSetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return frozenset(json.loads(path.read_text(encoding="utf-8"))[split])


def take_split(eval_set: EvalSet, split: str) -> EvalSet:
    """The questions whose passage is on ``split``'s side; every passage stays in the collection."""
    ids = split_ids(split)
    items = [i for i in eval_set.items if i.context in ids]
    if not items:
        raise EvalSetError(f"{eval_set.name} has no questions in the {split} split (the split is of CMRC 2018 dev)")
    return replace(eval_set, name=f"{eval_set.name}-{split}", items=items)


def without_gold(eval_set: EvalSet) -> EvalSet:
    """Negative rejection: every answerable question asked with its own passage left out, so none is
    answerable (the set's unanswerable questions are left out: they measure refusal already)."""
    if not all(i.context for i in eval_set.items):
        raise EvalSetError("--no-gold needs a SQuAD-style set (each question has its own passage)")
    items = [replace(i, answerable=False, answers=(), evidence=(), without_context=True)
             for i in eval_set.items if i.answerable]
    return replace(eval_set, name=f"{eval_set.name}-nogold", items=items)


def load_set(path: Path | str, limit: int | None = None, split: str | None = None, no_gold: bool = False) -> EvalSet:
    """A JSONL set (``.jsonl``) or a SQuAD-style JSON set; ``limit`` samples SQuAD questions,
    ``split`` keeps one side of the fixed CMRC split, ``no_gold`` asks each without its passage."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"eval set not found: {path} (give a .jsonl set or a SQuAD-style .json file)")
    if path.suffix == ".jsonl":
        if split or no_gold:
            raise EvalSetError("--split and --no-gold are for SQuAD-style sets")
        return load_jsonl(path)
    eval_set = load_squad(path, limit=limit)
    if split:
        eval_set = take_split(eval_set, split)
    return without_gold(eval_set) if no_gold else eval_set


def set_digest(eval_set: EvalSet) -> str:
    """SHA-256 of the set file, and of the sampled ids when a sample was taken."""
    digest = hashlib.sha256(eval_set.path.read_bytes() if eval_set.path else b"")
    if eval_set.sample:
        digest.update("\n".join(i.id for i in eval_set.items).encode())
    return digest.hexdigest()
