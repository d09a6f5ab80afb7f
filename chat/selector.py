"""The learned answer selector and the calibrated refusal.

Two small models, trained by ``make train`` (``eval/train.py``) and shipped in
``chat/models/`` with a manifest (data hashes, features, library versions,
cross-validated metrics):

- the **selector** gives each candidate sentence (:mod:`chat.features`) the
  probability that it holds the answer (logistic regression, LightGBM, or
  LightGBM's lambdarank with Platt-scaled scores, chosen by cross-validation);
- the **refusal model** gives the probability that some candidate answers at
  all, from the selector's best probabilities and the question's support
  (:class:`chat.refusal.Support`); logistic regression, LightGBM, or the mean of
  two LightGBM models' probabilities, one of which also reads the chosen
  sentence's own feature row (``CHOSEN_FEATURES``; the "blend"), chosen by
  cross-validated refusal recall at the allowed false refusals.

The decision's thresholds are picked on cross-validation of the training data: below
``threshold`` (the lowest of the training domains' thresholds that refuse 5% of the
questions the selector answers right; ``answer.min_answer_probability`` overrides it)
a Chinese question is refused, below ``threshold_en`` (the same, on the report's
English questions) an English one; between it and ``threshold_high`` (the highest of
the domains' thresholds) a question is refused when the hand-written refusal rules
(:mod:`chat.refusal`: unknown words, no sentence giving the asked-for attribute or the
asked-for kind of date) also refuse it. English questions get their own threshold
because they are matched through their Chinese terms, and get lower probabilities for
the same right answer.

Both are read from plain files (LightGBM's text format, JSON coefficients): no
pickle is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from pathlib import Path

import numpy as np

from chat.features import FEATURES, Candidate
from chat.question import Question
from chat.refusal import RefusalPolicy, Support
from ragchat.errors import RagchatError

MODELS_DIR = Path(__file__).resolve().parent / "models"
SELECTOR_FILE = "selector.txt"
SELECTOR_JSON = "selector.json"  # the logistic alternative
REFUSAL_FILE = "refusal.json"
REFUSAL_TREE_FILE = "refusal.txt"  # the LightGBM alternative
REFUSAL_CHOSEN_FILE = "refusal_chosen.txt"  # the blend's model that reads the chosen sentence's row too
MANIFEST_FILE = "manifest.json"

REFUSAL_FEATURES = (
    "p1", "p2", "margin", "p_top3", "cov1", "cov_best", "sentence", "framed", "unknown", "dense_top",
    "n_terms", "lang_en", "typed_best", "p_framed", "top_unmet", "p_typed", "rule_refuse", "head_missing",
    "miss_top1", "miss_passage1", "clash1", "miss_framed", "dense1", "dense_best",
)
# the chosen (best-scored) sentence's own feature row, after the question-level inputs in ``refusal_row``
CHOSEN_FEATURES = tuple(f"top_{name}" for name in FEATURES)
REFUSAL_INPUTS = REFUSAL_FEATURES + CHOSEN_FEATURES


class ModelFileError(RagchatError):
    """A shipped model file is missing, damaged or does not match its manifest."""


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    prob: float
    row: int  # the candidate's row in the feature matrix


@dataclass(frozen=True)
class Decision:
    """Answer or refuse, with the probability that the passages answer, and why."""

    answer: bool
    probability: float
    reason: str = ""


class LogisticModel:
    """Logistic regression from JSON: standardised features, coefficients, intercept."""

    def __init__(self, data: dict) -> None:
        self.features = tuple(data["features"])
        self.mean = np.asarray(data["mean"], dtype=np.float64)
        self.scale = np.asarray(data["scale"], dtype=np.float64)
        self.coef = np.asarray(data["coef"], dtype=np.float64)
        self.intercept = float(data["intercept"])
        self.fill = np.asarray(data.get("fill", data["mean"]), dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        X = np.where(np.isnan(X), self.fill, X)
        z = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @staticmethod
    def to_json(features, mean, scale, coef, intercept, fill) -> dict:
        return {"features": list(features), "mean": [float(x) for x in mean], "scale": [float(x) for x in scale],
                "coef": [float(x) for x in coef], "intercept": float(intercept), "fill": [float(x) for x in fill]}


class TreeModel:
    """A LightGBM booster read from its text format. A ranker's scores are turned into
    probabilities by its Platt scaling (``platt``: a, b of ``1 / (1 + exp(-(a·s + b)))``)."""

    def __init__(self, text: str, features: tuple[str, ...], platt: tuple[float, float] | None = None) -> None:
        import lightgbm

        self.booster = lightgbm.Booster(model_str=text)
        self.features = features
        self.platt = platt

    def predict(self, X: np.ndarray) -> np.ndarray:
        scores = np.asarray(self.booster.predict(np.asarray(X, dtype=np.float64), num_threads=1))
        if self.platt is None:
            return scores
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * scores + b)))


class Refusal:
    """The refusal model: the mean of its parts' probabilities. Each part reads the leading columns
    of ``refusal_row``'s row that it was trained on (``part.features``): the question-level inputs
    (``REFUSAL_FEATURES``), or those and the chosen sentence's row (``REFUSAL_INPUTS``).

    Why a blend (session 16, docs/eval-results.md): a model that also reads the chosen sentence
    refuses more of the asks whose answer is not in the documents, but alone it refused more of the
    encyclopaedia's and the report's answerable questions; the mean of the two kept those."""

    def __init__(self, parts: list) -> None:
        self.parts = parts

    @property
    def kind(self) -> str:
        if len(self.parts) == 2:
            return "blend"
        return "logistic" if isinstance(self.parts[0], LogisticModel) else "lightgbm"

    def predict(self, R: np.ndarray) -> np.ndarray:
        R = np.asarray(R, dtype=np.float64)
        return np.mean([part.predict(R[:, :len(part.features)]) for part in self.parts], axis=0)


@dataclass
class Models:
    selector: LogisticModel | TreeModel
    refusal: Refusal
    threshold: float  # the trained default of ``answer.min_answer_probability``, for Chinese questions
    threshold_high: float  # below this, a question the refusal rules refuse is refused too
    manifest: dict
    threshold_en: float | None = None  # the trained default for English questions (None: ``threshold``)

    def limit(self, lang: str) -> float:
        """The trained threshold for a question in ``lang``."""
        return self.threshold_en if lang == "en" and self.threshold_en is not None else self.threshold


def read_manifest(folder: Path, name: str, error: type[ModelFileError] = ModelFileError) -> dict:
    """A model manifest (JSON); ``error`` when it cannot be read."""
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise error(f"cannot read the answer models' manifest {folder / name}: {exc}; run `make train`") from None


def checked_file(folder: Path, name: str, digest: str, error: type[ModelFileError] = ModelFileError) -> bytes:
    """The bytes of a shipped model file, when their sha256 is ``digest``; ``error`` otherwise."""
    import hashlib

    try:
        data = (folder / name).read_bytes()
    except OSError as exc:
        raise error(f"answer model file {folder / name} is missing ({exc.strerror}); run `make train`") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise error(f"answer model file {folder / name} does not match its manifest; run `make train`")
    return data


@lru_cache(maxsize=4)
def load_models(folder: Path = MODELS_DIR) -> Models:
    """The shipped selector and refusal model, checked against their manifest."""
    manifest = read_manifest(folder, MANIFEST_FILE)
    for name, digest in manifest["files"].items():
        checked_file(folder, name, digest)
    if tuple(manifest["features"]) != FEATURES:
        raise ModelFileError("the answer selector was trained on other features than this code computes; run `make train`")
    if tuple(manifest.get("refusal_features", ())) != REFUSAL_FEATURES:
        raise ModelFileError("the refusal model was trained on other features than this code computes; run `make train`")
    kind = manifest["selector"]["kind"]
    if kind in ("lightgbm", "lambdarank"):
        platt = manifest["selector"].get("platt")
        selector: LogisticModel | TreeModel = TreeModel((folder / SELECTOR_FILE).read_text(encoding="utf-8"), FEATURES,
                                                        tuple(platt) if platt else None)
    else:
        selector = LogisticModel(json.loads((folder / SELECTOR_JSON).read_text(encoding="utf-8")))
    refusal_kind = manifest["refusal"].get("kind", "logistic")
    if refusal_kind == "blend" and tuple(manifest.get("chosen_features", ())) != CHOSEN_FEATURES:
        raise ModelFileError("the refusal model was trained on other features than this code computes; run `make train`")
    if refusal_kind in ("lightgbm", "blend"):
        parts: list = [TreeModel((folder / REFUSAL_TREE_FILE).read_text(encoding="utf-8"), REFUSAL_FEATURES)]
        if refusal_kind == "blend":
            parts.append(TreeModel((folder / REFUSAL_CHOSEN_FILE).read_text(encoding="utf-8"), REFUSAL_INPUTS))
    else:
        parts = [LogisticModel(json.loads((folder / REFUSAL_FILE).read_text(encoding="utf-8")))]
    refusal = Refusal(parts)
    threshold = float(manifest["refusal"]["threshold"])
    en = manifest["refusal"].get("threshold_en")
    return Models(selector, refusal, threshold, float(manifest["refusal"].get("threshold_high", threshold)), manifest,
                  None if en is None else float(en))


def rank(models: Models, cands: list[Candidate], X: np.ndarray) -> list[Scored]:
    """Candidates best first, each with the selector's probability."""
    if not cands:
        return []
    probs = models.selector.predict(X)
    order = sorted(range(len(cands)), key=lambda i: (-probs[i], i))
    return [Scored(cands[i], float(probs[i]), i) for i in order]


def refusal_row(ranked: list[Scored], X: np.ndarray, support: Support, question: Question,
                rule_reason: str | None = None) -> np.ndarray:
    """The refusal model's inputs (``REFUSAL_INPUTS``): the question-level features
    (``REFUSAL_FEATURES``), then the chosen sentence's own feature row (``CHOSEN_FEATURES``; NaN
    when nothing was retrieved). ``rule_reason``: the refusal rules' reason ("" to answer), when the
    caller has it already; else the default rules are asked."""
    from chat.features import INDEX

    probs = [s.prob for s in ranked] + [0.0, 0.0, 0.0]
    top = ranked[0].row if ranked else None
    col = (lambda name: X[:, INDEX[name]]) if len(X) else (lambda name: np.zeros(1))
    values = {
        "p1": probs[0], "p2": probs[1], "margin": probs[0] - probs[1], "p_top3": sum(probs[:3]),
        "cov1": float(X[top, INDEX["cov_ctx"]]) if top is not None else 0.0,
        "cov_best": float(np.nanmax(col("cov_ctx"))) if len(X) else 0.0,
        "sentence": support.sentence, "framed": support.framed, "unknown": support.unknown,
        "dense_top": support.dense,
        "n_terms": float(len(question.weights)), "lang_en": float(question.lang == "en"),
        "typed_best": float(X[top, INDEX["type_hit"]]) if top is not None else 0.0,
        # the best probability among the candidates that give the asked-for kind of answer (the
        # frame met; a thing of the asked type): a near miss has on-topic sentences, none of them framed
        "p_framed": max((s.prob for s in ranked if X[s.row, INDEX["frame_unmet"]] == 0), default=0.0),
        "top_unmet": float(X[top, INDEX["frame_unmet"]]) if top is not None else 1.0,
        "p_typed": max((s.prob for s in ranked if X[s.row, INDEX["type_hit"]] == 1), default=0.0),
        # the hand-written refusal rules' verdict (chat/refusal.py), as one more signal
        "rule_refuse": float(bool(RefusalPolicy().refuse(support, question.lang) if rule_reason is None else rule_reason)),
        # the question names the attribute it asks for (利率, 装机容量) and no candidate names it
        "head_missing": float(bool(len(X)) and bool(np.all(col("lacks_head") == 1))),
        # what the chosen sentence lacks of the question (chat/missing.py), and the least that any
        # candidate giving the asked-for kind of answer lacks
        "miss_top1": float(X[top, INDEX["miss_top"]]) if top is not None else 1.0,
        "miss_passage1": float(X[top, INDEX["miss_passage"]]) if top is not None else 1.0,
        "clash1": float(X[top, INDEX["year_clash"]]) if top is not None else 0.0,
        "miss_framed": min((float(X[s.row, INDEX["miss_top"]]) for s in ranked if X[s.row, INDEX["type_hit"]] == 1),
                           default=1.0),
        # the chosen sentence's own cosine to the question, and the best of any candidate (NaN: not embedded)
        "dense1": float(X[top, INDEX["s_dense"]]) if top is not None else np.nan,
        "dense_best": float(np.nanmax(col("s_dense"))) if len(X) and not np.all(np.isnan(col("s_dense"))) else np.nan,
    }
    chosen = X[top] if top is not None else np.full(len(FEATURES), np.nan)
    return np.concatenate([[values[f] for f in REFUSAL_FEATURES], chosen]).astype(np.float64)[None, :]


def decide(models: Models, ranked: list[Scored], X: np.ndarray, support: Support, question: Question,
           threshold: float | None = None, rule_reason: str | None = None,
           known: Callable[[str], bool] | None = None) -> Decision:
    """Answer when the refusal model's probability reaches ``threshold`` (default: the trained one
    for the question's language) and, below ``threshold_high``, the refusal rules (``rule_reason``)
    do not refuse.

    One hard rule stays: a question that names the attribute it asks for (``利率`` in
    ``肉牛养殖贷款的利率是多少？``) is refused when no candidate names it and no indexed document
    does (``known``: whether the index knows a word). Where the documents use the word somewhere
    the decision is learned (``head_missing``), as the text may put the attribute in other words
    (GDP, 地区生产总值)."""
    if not ranked:
        return Decision(False, 0.0, "no sentence was retrieved")
    row = refusal_row(ranked, X, support, question, rule_reason)
    head = question.frame.head
    if row[0, REFUSAL_FEATURES.index("head_missing")] == 1 and known is not None and not known(head):
        return Decision(False, 0.0, f"the documents never mention the {head}")
    p = float(models.refusal.predict(row)[0])
    limit = models.limit(question.lang) if threshold is None else threshold
    ruled = row[0, REFUSAL_FEATURES.index("rule_refuse")] == 1
    if p >= limit and not (ruled and p < max(limit, models.threshold_high)):
        return Decision(True, p)
    why = support.frame_reason if support.framing and support.framed < 0.3 and support.frame_reason else (
        "the documents never mention what the question is about" if support.unknown > 0.7 else
        "no sentence of the passages answers the question")
    if p >= limit:  # refused in the rules' band: say so, not a comparison that does not hold
        return Decision(False, p, f"{why} (answer probability {p:.2f} < {models.threshold_high:.2f}, "
                                  "and the refusal rules refuse)")
    return Decision(False, p, f"{why} (answer probability {p:.2f} < {limit:.2f})")
