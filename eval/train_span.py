"""Train the short-answer span ranker (``make train``): ``python -m eval.train_span``.

Training data, fixed by file and id, as for the selector (``eval/train.py``): CMRC 2018 trial
and the ``train`` side of the fixed CMRC 2018 dev split; the ``test`` side is never read here.
For each question, every sentence of its own passage that holds a gold answer gives the
candidates of :func:`chat.span.span_candidates`, each labelled by its character F1 against the
gold answers (the CMRC metric), graded 0–4 for lambdarank.

The model is picked by 5-fold cross-validation grouped by passage (questions on one passage
never straddle train and test): the figure reported is the mean best-span F1 of the held-out
folds, next to the rules' short answer (:func:`chat.learned.short_answer`) on the same
sentences. The final model is fit on all the data and written to ``chat/models/span.txt`` with
its manifest ``span.json``. Deterministic: fixed seeds, one thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chat.span import CATEGORICAL, MODELS_DIR, SPAN_FEATURES, SPAN_FILE, SPAN_MANIFEST, sentence_tokens, \
    span_candidates, span_features
from eval.cmrc import cmrc_f1

FOLDS = 5
SEED = 2018
ROUNDS = 300
CACHE = Path("build/train/spans.npz")
PARAMS = {
    "objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "seed": SEED,
    "num_threads": 1, "deterministic": True, "force_row_wise": True, "verbose": -1,
    "lambdarank_truncation_level": 3, "eval_at": [1], "label_gain": [0, 1, 3, 7, 15],
}


@dataclass
class Group:
    """The candidates of one gold sentence: features, their F1, and the rules' F1."""

    qid: str
    passage: str
    X: np.ndarray
    f1: np.ndarray
    rule_f1: float


def collect(progress: bool = True) -> list[Group]:
    from tqdm import tqdm

    from chat.extractive import Candidate as RuleSpan
    from chat.learned import short_answer
    from chat.service import AnswerService, Request
    from chat.types import Passage
    from eval.corpus import CMRC_DEV, corpus_docs, eval_cache_dir, eval_embeddings
    from eval.sets import load_squad, take_split
    from eval.train import CMRC_TRIAL
    from index.update import build_snapshot
    from ingest.sentences import sentence_spans
    from ragchat.errors import EmptyQuestionError
    from ragchat.settings import Settings

    base = Settings()
    settings = base.model_copy(update={"answer": base.answer.model_copy(update={"selector": "rules"})})
    embeddings = eval_embeddings(settings, eval_cache_dir())
    groups: list[Group] = []
    for name, eval_set in (("cmrc-trial", load_squad(CMRC_TRIAL)),
                           ("cmrc-dev-train", take_split(load_squad(CMRC_DEV), "train"))):
        snapshot = build_snapshot(corpus_docs(eval_set), settings, embeddings, progress=progress)
        service = AnswerService(settings, snapshot, embeddings)  # the question's analysis only
        contexts = dict(eval_set.passages)
        for item in tqdm(eval_set.items, desc=f"spans {name}", unit="q", disable=not progress, dynamic_ncols=True):
            text = contexts[item.context]
            try:
                question, _ = service.analyse(service.prepare(Request(item.question)))
            except EmptyQuestionError:
                continue
            passage = Passage(1, item.context, item.context, item.context, (), "text", text, (), 1.0, 1.0, 1.0)
            for start, end in sentence_spans(text):
                if not any(g and g in text[start:end] for g in item.gold):
                    continue
                tokens = sentence_tokens(text, start, end)
                spans = span_candidates(tokens)
                if not spans:
                    continue
                short = short_answer(question, RuleSpan(passage, start, end, 0.0))
                at = text.find(short, start, end) if short else -1
                rule = (at, at + len(short)) if at >= 0 else None
                X = span_features(question, text, tokens, spans, rule)
                f1 = np.asarray([cmrc_f1(text[s.start:s.end], item.gold) for s in spans])
                rule_f1 = cmrc_f1(short, item.gold) if short else 0.0
                groups.append(Group(f"{name}/{item.id}", f"{name}/{item.context}", X, f1, rule_f1))
    return groups


def grades(f1: np.ndarray) -> np.ndarray:
    return np.select([f1 >= 0.999, f1 >= 0.75, f1 >= 0.5, f1 >= 0.25], [4, 3, 2, 1], 0).astype(np.int32)


def fit(groups: list[Group]):
    import lightgbm

    X = np.vstack([g.X for g in groups])
    y = np.concatenate([grades(g.f1) for g in groups])
    data = lightgbm.Dataset(X, y, group=[len(g.f1) for g in groups], feature_name=list(SPAN_FEATURES),
                            categorical_feature=list(CATEGORICAL), free_raw_data=False)
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def folds_of(groups: list[Group]) -> np.ndarray:
    """Fold of each group, by passage (fixed: a hash of the passage id)."""
    return np.asarray([int(hashlib.sha256(g.passage.encode()).hexdigest(), 16) % FOLDS for g in groups])


def cross_validate(groups: list[Group], log=print) -> dict:
    fold = folds_of(groups)
    picked = np.zeros(len(groups))
    for k in range(FOLDS):
        model = fit([g for g, f in zip(groups, fold) if f != k])
        for i in np.flatnonzero(fold == k):
            picked[i] = groups[i].f1[int(np.argmax(model.predict(groups[i].X, num_threads=1)))]
    per_q: dict[str, tuple[float, float, float]] = {}
    for g, p in zip(groups, picked):  # a question's best gold sentence counts once
        old = per_q.get(g.qid, (-1.0, 0.0, 0.0))
        per_q[g.qid] = max(old, (p, g.rule_f1, float(g.f1.max())))
    learned, rules, oracle = (float(np.mean([v[i] for v in per_q.values()])) for i in range(3))
    log(f"span F1 on held-out folds ({len(per_q)} questions): learned {learned:.3f}, rules {rules:.3f}, "
        f"best candidate {oracle:.3f}")
    return {"questions": len(per_q), "cv_f1": round(learned, 4), "rules_f1": round(rules, 4),
            "oracle_f1": round(oracle, 4), "folds": FOLDS}


def save_groups(groups: list[Group], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, X=np.vstack([g.X for g in groups]), f1=np.concatenate([g.f1 for g in groups]),
                        sizes=np.asarray([len(g.f1) for g in groups]), rule=np.asarray([g.rule_f1 for g in groups]),
                        qid=np.asarray([g.qid for g in groups]), passage=np.asarray([g.passage for g in groups]))


def load_groups(path: Path) -> list[Group]:
    d = np.load(path)
    X, f1 = d["X"], d["f1"]  # read once: each access to an npz member decompresses it again (a copy per group)
    out, at = [], 0
    for n, rule, qid, passage in zip(d["sizes"], d["rule"], d["qid"], d["passage"]):
        out.append(Group(str(qid), str(passage), X[at:at + n], f1[at:at + n], float(rule)))
        at += n
    return out


def train(groups: list[Group], out: Path, log=print) -> dict:
    import lightgbm

    metrics = cross_validate(groups, log)
    model = fit(groups)
    text = model.model_to_string()
    out.mkdir(parents=True, exist_ok=True)
    (out / SPAN_FILE).write_text(text, encoding="utf-8")
    manifest = {
        "about": "The short-answer span ranker of ragchat, trained by `make train` (eval/train_span.py).",
        "features": list(SPAN_FEATURES), "categorical": list(CATEGORICAL), "params": PARAMS, "rounds": ROUNDS,
        "data": {"groups": len(groups), "rows": int(sum(len(g.f1) for g in groups))},
        "cross_validation": metrics, "versions": {"lightgbm": lightgbm.__version__, "numpy": np.__version__},
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
    (out / SPAN_MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_span", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the model and manifest go")
    parser.add_argument("--reuse", action="store_true", help=f"refit from the cached candidates in {CACHE}")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.reuse and CACHE.exists():
        groups = load_groups(CACHE)
    else:
        groups = collect()
        save_groups(groups, CACHE)
    train(groups, args.out)
    print(f"wrote {args.out / SPAN_FILE} and {SPAN_MANIFEST} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
