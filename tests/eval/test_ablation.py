"""The ablation's tables (eval/ablation.py): pooled per family of sets, paired against the full model."""

from __future__ import annotations

import numpy as np

from eval.ablation import HELD_OUT, NEWEST_BLIND, Outcome, delta_table, family, summary_table


def _outcomes() -> dict[tuple[str, str], Outcome]:
    on = {"holdout": [1, 1, 0, 1], "blind5": [1, 0, 1, 1, 1], "cmrc_test": [1, 1, 1]}
    # "dense" off: two asks of blind5 lost, one of holdout gained; "slot" off: nothing changes
    dense = {"holdout": [1, 1, 1, 1], "blind5": [0, 0, 1, 0, 1], "cmrc_test": [1, 1, 1]}
    out = {}
    for off, table in (("none", on), ("dense", dense), ("slot", on)):
        for name, decided in table.items():
            out[(off, name)] = Outcome(np.asarray(decided, dtype=bool), top1=0.5, false_refusals=0.1,
                                       refusal_recall=None)
    return out


def test_the_summary_pools_each_family_and_pairs_every_ask_against_the_full_model():
    table = summary_table(_outcomes(), "groups", ("top1", "refusal_recall"))
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in table.splitlines() if line.startswith("| ")}
    assert rows["switched off"][1:4] == ["report held-out: decided right", "report held-out: top1",
                                         "report held-out: refusal_recall"]
    none, dense, slot = rows["none"], rows["dense"], rows["slot"]
    assert none[1] == "0.750" and dense[1] == "1.000"  # holdout: 3 of 4, then 4 of 4
    assert none[4] == "0.800" and dense[4] == "0.400"  # blind5: 4 of 5, then 2 of 5
    assert none[3] == "–"  # no set has a refusal recall: no number is made up
    assert dense[-3:] == ["2", "1", "1 |"]  # right only with it on, only with it off, p of 2 against 1
    assert slot[-3:] == ["0", "0", "1 |"]


def test_the_delta_table_counts_asks_decided_right_per_set():
    table = delta_table(_outcomes(), "per set")
    assert "| switched off | holdout | blind5 | cmrc_test |" in table
    assert "| dense | +1 | -2 | +0 |" in table
    assert "| none |" not in table


def test_every_held_out_set_but_the_newest_blind_one_is_ablated():
    assert [n for n in HELD_OUT if n.startswith("holdout")] == ["holdout"] + [f"holdout{i}" for i in range(2, 7)]
    assert [n for n in HELD_OUT if n.startswith("blind")] == [f"blind{i}" for i in range(5, NEWEST_BLIND)]
    assert {family(n) for n in HELD_OUT} | {family("cmrc_test")} == {"report held-out", "blind", "CMRC"}
    assert family("report") == "report dev"  # the dev set, run in the expander table, is no held-out set
