"""The fixed CMRC 2018 dev split, and negative rejection (each question without its own passage)."""

from __future__ import annotations

import json

import pytest

from eval.corpus import CMRC_DEV
from eval.sets import CMRC_SPLIT, EvalSetError, REPORT_DEV, load_set, load_squad


def test_the_split_is_by_passage_and_covers_dev_once():
    split = json.loads(CMRC_SPLIT.read_text(encoding="utf-8"))
    train, test = set(split["train"]), set(split["test"])
    assert not train & test
    assert train | test == {pid for pid, _ in load_squad(CMRC_DEV).passages}
    assert 0.4 < len(test) / (len(train) + len(test)) < 0.6


def test_a_split_keeps_its_questions_and_every_passage():
    full = load_squad(CMRC_DEV)
    test = load_set(CMRC_DEV, split="test")
    ids = set(json.loads(CMRC_SPLIT.read_text(encoding="utf-8"))["test"])
    assert test.items and all(i.context in ids for i in test.items)
    assert len(test.passages) == len(full.passages)  # asked against all 848 passages
    assert len(test.items) + len(load_set(CMRC_DEV, split="train").items) == len(full.items)


def test_no_gold_makes_every_question_one_to_refuse():
    nogold = load_set(CMRC_DEV, split="test", no_gold=True)
    assert nogold.name.endswith("-nogold")
    assert all(not i.answerable and i.without_context and i.context and not i.answers for i in nogold.items)


def test_split_and_no_gold_are_for_squad_sets_only():
    with pytest.raises(EvalSetError, match="SQuAD"):
        load_set(REPORT_DEV, split="test")
    with pytest.raises(EvalSetError, match="unknown split"):
        load_set(CMRC_DEV, split="dev")
