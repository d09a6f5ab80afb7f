"""Metrics as pure functions: retrieval (over ranked chunk texts), answers,
citations, refusals and latency percentiles."""

from __future__ import annotations

import re
import unicodedata

from eval.textnorm import norm


def relevant_ranks(ranked_texts: list[str], evidence: tuple[str, ...] | list[str]) -> list[int]:
    """1-based ranks of the chunks that contain any evidence string (normalised)."""
    needles = [norm(e) for e in evidence if e.strip()]
    return [i for i, text in enumerate(ranked_texts, 1) if any(n in norm(text) for n in needles)]


def hit_at(ranks: list[int], k: int) -> float:
    return 1.0 if ranks and ranks[0] <= k else 0.0


def mrr_at(ranks: list[int], k: int = 10) -> float:
    return 1.0 / ranks[0] if ranks and ranks[0] <= k else 0.0


def hit_within_budget(ranked_tokens: list[int], ranks: list[int], budget: int) -> float:
    """1 when a relevant chunk starts within the first ``budget`` tokens of context,
    so that large chunks cannot buy recall."""
    if not ranks:
        return 0.0
    used = sum(ranked_tokens[: ranks[0] - 1])
    return 1.0 if used + ranked_tokens[ranks[0] - 1] <= budget else 0.0


def key_fact_recall(answer: str, facts: tuple[str, ...] | list[str]) -> float:
    """1 when every key fact appears in the answer (after normalisation), else 0."""
    if not facts:
        return 1.0
    return 1.0 if all(norm(f) in norm(answer) for f in facts) else 0.0


def citation_precision(cited_texts: list[str], evidence, facts) -> float | None:
    """Share of cited passages that hold the evidence or a key fact; None without citations."""
    if not cited_texts:
        return None
    needles = [norm(x) for x in list(evidence) + list(facts) if x.strip()]
    good = sum(1 for text in cited_texts if any(n in norm(text) for n in needles))
    return good / len(cited_texts)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- answers ------------------------------------------------------------------

_MARKER = re.compile(r"\s*\[\d+(?:\s*[,，、]\s*\d+)*\]")
_STOPS = "。！？!?；;"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def strip_markers(text: str) -> str:
    """The answer without its citation markers (``[1]``, ``[1, 2]``)."""
    return _MARKER.sub("", text).strip()


def answer_chars(answer: str) -> int:
    """Length of the answer in characters, citation markers left out."""
    return len(strip_markers(answer))


def gold_contained(answer: str, golds: tuple[str, ...] | list[str]) -> float:
    """1 when any gold answer appears in the answer (after normalisation), else 0."""
    text = norm(strip_markers(answer))
    return 1.0 if any(norm(g) and norm(g) in text for g in golds) else 0.0


def answer_sentences(answer: str) -> list[str]:
    """The answer split into sentences; markers right after a full stop stay with its sentence."""
    sentences, buf, i = [], "", 0
    while i < len(answer):
        ch = answer[i]
        if ch == "\n":
            sentences.append(buf)
            buf, i = "", i + 1
            continue
        buf += ch
        i += 1
        if ch in _STOPS or (ch == "." and (i == len(answer) or answer[i].isspace())):
            while i < len(answer) and answer[i] in _STOPS:
                buf, i = buf + answer[i], i + 1
            marker = _MARKER.match(answer, i)
            while marker:
                buf, i = buf + marker.group(0), marker.end()
                marker = _MARKER.match(answer, i)
            sentences.append(buf)
            buf = ""
    sentences.append(buf)
    return [s.strip() for s in sentences if strip_markers(s)]


def citation_coverage(answer: str) -> float | None:
    """Share of the answer's sentences that carry a citation marker; None for an empty answer."""
    sentences = answer_sentences(answer)
    if not sentences:
        return None
    return sum(1 for s in sentences if _MARKER.search(s)) / len(sentences)


def numbers(text: str) -> set[str]:
    """The numbers in ``text`` after width normalisation, thousands separators removed."""
    flat = re.sub(r"(?<=\d)[,，](?=\d{3})", "", unicodedata.normalize("NFKC", text))
    return {m.group(0) for m in _NUMBER.finditer(flat)}


def numeric_faithful(answer: str, cited_texts: list[str]) -> float | None:
    """1 when every number of the answer appears as a number in a cited passage, else 0;
    None when the answer has no numbers."""
    found = numbers(strip_markers(answer))
    if not found:
        return None
    sources = set().union(*(numbers(t) for t in cited_texts)) if cited_texts else set()
    return 1.0 if found <= sources else 0.0


# --- refusals -----------------------------------------------------------------


def refusal_scores(answerable: list[bool], refused: list[bool]) -> dict[str, float | None]:
    """Precision and recall of refusals on the unanswerable items, and the share
    of answerable items wrongly refused. None where it cannot be measured (no
    refusals, or a set without unanswerable items)."""
    if len(answerable) != len(refused):
        raise ValueError(f"answerable has {len(answerable)} items, refused {len(refused)}")
    pairs = list(zip(answerable, refused))
    true_refusals = sum(1 for a, r in pairs if r and not a)
    n_refused = sum(1 for _, r in pairs if r)
    n_unanswerable = sum(1 for a, _ in pairs if not a)
    n_answerable = len(pairs) - n_unanswerable
    return {
        "refusal_precision": true_refusals / n_refused if n_refused and n_unanswerable else None,
        "refusal_recall": true_refusals / n_unanswerable if n_unanswerable else None,
        "false_refusal_rate": sum(1 for a, r in pairs if a and r) / n_answerable if n_answerable else None,
    }


def mean(values) -> float | None:
    """The mean of the values that are not None; None if there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
