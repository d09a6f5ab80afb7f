"""CMRC 2018 answer metrics: EM and F1, as the official evaluation defines them.

The definition (Cui et al., 2019, and the task's evaluation script), restated:

* Text is lower-cased and split into tokens: every Chinese character is a
  token; each run of other characters is split into words, so an English
  word or a number such as ``3.5`` or ``1,000`` is one token.
* Punctuation is not a token, and whitespace only separates.
* F1 against one gold answer uses the longest common *contiguous* run of
  tokens: precision = run / prediction tokens, recall = run / gold tokens.
* EM is 1 when the prediction's tokens equal the gold answer's.
* A question has several human answers: each score is the best over them.

One deliberate difference: both sides are NFKC-normalised first, so that a
full-width ``２０１８`` and ``2018`` are the same number (our passages are
cleaned text, the gold answers are not). Scores are in [0, 1]; the
published tables multiply by 100.
"""

from __future__ import annotations

import re
import unicodedata

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
# A word of a non-Chinese run: letters and digits, with inner . , ' kept (3.5, 1,000, don't).
_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*")


def tokens(text: str) -> list[str]:
    """CMRC tokens of ``text``: Chinese characters one by one, other words whole, no punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    run: list[str] = []
    for ch in text:
        if _CHINESE.match(ch):
            if run:
                out += _WORD.findall("".join(run))
                run = []
            out.append(ch)
        else:
            run.append(ch)
    if run:
        out += _WORD.findall("".join(run))
    return out


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest contiguous run of tokens that ``a`` and ``b`` share."""
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def f1_one(prediction: str, gold: str) -> float:
    pred, ref = tokens(prediction), tokens(gold)
    run = longest_common_run(ref, pred)
    if run == 0:
        return 0.0
    precision, recall = run / len(pred), run / len(ref)
    return 2 * precision * recall / (precision + recall)


def cmrc_f1(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """The best F1 over the gold answers (0 with none)."""
    return max((f1_one(prediction, g) for g in golds), default=0.0)


def cmrc_em(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """1 when the prediction equals a gold answer, punctuation, case and spaces aside."""
    pred = tokens(prediction)
    return 1.0 if any(tokens(g) == pred for g in golds) else 0.0
