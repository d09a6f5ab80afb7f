"""The eval runner: every question through the app's own answer path, scored.

    run_eval(eval_set, settings, RunOptions(...), out_dir) -> summary

It builds the index in memory (or opens ``index_dir``), warms the model with a
throwaway question, then asks each question with ``AnswerService.answer``,
exactly as the CLI and the UI do. For the retrieval metrics it runs the same
path's retrieval step again ``DEPTH`` deep (the answer itself sees the
configured ``k``). Results go to ``out_dir``: results.jsonl, summary.json,
report.md and the plots.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chat.service import AnswerService
from chat.types import Citation
from eval.anchors import recipe as get_recipe
from eval.cmrc import cmrc_em, cmrc_f1
from eval.corpus import corpus_docs, doc_id_of_passage, eval_cache_dir, eval_embeddings
from eval.metrics import (
    answer_chars,
    citation_coverage,
    citation_precision,
    gold_contained,
    hit_at,
    hit_within_budget,
    key_fact_recall,
    mrr_at,
    numeric_faithful,
    relevant_ranks,
    strip_markers,
)
from eval.provenance import chunks_hash, manifest_hash, source_revision, versions
from eval.sets import EvalItem, EvalSet, set_digest
from index.store import Snapshot
from ragchat.errors import ConfigError
from ragchat.settings import Settings

DEPTH = 10  # retrieval metrics look at this many chunks (hit@1..10, MRR@10)
BUDGET_TOKENS = 400  # the fixed context budget of hit@400tok
WARM_UP = "预热"


@dataclass(frozen=True)
class RunOptions:
    """How to run an eval. ``None`` means the settings' value."""

    answerer: str | None = None
    k: int | None = None
    recipe: str = "ragchat"
    docs: tuple[Path, ...] = ()
    distractors: bool = False
    index_dir: Path | None = None
    cache_dir: Path | None = None
    progress: bool = True
    label: str = ""  # a name for this run in reports (default: set + recipe)


@dataclass
class Target:
    """The answer service an eval asks, and a description of its index."""

    service: AnswerService
    index: dict[str, Any] = field(default_factory=dict)


def open_target(eval_set: EvalSet, settings: Settings, options: RunOptions) -> Target:
    """The service to evaluate: an in-memory index of the set's documents, or ``options.index_dir``."""
    chosen = get_recipe(options.recipe)
    settings = chosen.settings(settings)
    if options.index_dir is not None:
        if chosen.custom_index is not None:
            raise ConfigError(f"recipe {chosen.name!r} builds its own index; leave out --index-dir")
        if options.docs or options.distractors:
            raise ConfigError("--index-dir evaluates an existing index; leave out --docs and --distractors")
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": options.index_dir})})
        service = AnswerService.from_settings(settings, progress=options.progress)
        return Target(service, _describe(service.snapshot, f"index at {options.index_dir}"))
    embeddings = eval_embeddings(settings, options.cache_dir or eval_cache_dir())
    docs = corpus_docs(eval_set, options.docs, options.distractors)
    if chosen.custom_index is not None:
        snapshot = chosen.custom_index(docs, settings, embeddings, progress=options.progress)
    else:
        from index.update import build_snapshot

        snapshot = build_snapshot(docs, settings, embeddings, progress=options.progress)
    what = f"{len(docs)} document{'s' if len(docs) != 1 else ''} in memory" + (
        " (with the CMRC 2018 distractors)" if options.distractors else "")
    return Target(AnswerService(settings, snapshot, embeddings, _endpoint(settings)), _describe(snapshot, what))


def _endpoint(settings: Settings):
    """The configured LLM endpoint, as the app opens it (None: the extractive answerer only)."""
    if not (settings.llm.base_url and settings.llm.model):
        return None
    from chat.llm import ChatEndpoint

    return ChatEndpoint(settings.llm)


def _describe(snapshot: Snapshot, what: str) -> dict[str, Any]:
    return {
        "what": what,
        "manifest_hash": manifest_hash(snapshot.manifest),
        "chunks_hash": chunks_hash([c.text for c in snapshot.chunks]),
        "n_chunks": len(snapshot.chunks),
        "n_documents": len(snapshot.documents),
        "manifest": {k: v for k, v in snapshot.manifest.items() if k not in ("files", "documents")},
    }


# --- one item -----------------------------------------------------------------


def shown_passage(passage) -> str:
    """A retrieved passage as the user and the answerer see it: its section heading, then its text."""
    return (passage.heading[-1] + "\n" if passage.heading else "") + passage.text


def item_metrics(
    item: EvalItem,
    answer_text: str,
    refused: bool,
    ranked_texts: list[str],
    ranked_tokens: list[int],
    cited_texts: list[str],
    cited_spans: list[str] = (),
    short: str = "",
) -> dict[str, Any]:
    """The metrics of one item, from what was retrieved (best first), answered and cited.

    ``cited_texts`` are the cited passages; ``cited_spans`` the document text at
    each citation's offsets (what a reader is shown), which numbers may also come from.
    ``short``: the answer's short span (``Answer.short``); CMRC EM and F1 are computed on it
    when there is one, else on the whole answer.

    For a SQuAD-style item ``ranked_texts`` should hold "" for chunks outside
    the item's own passage, so that only answer-bearing chunks of it count.
    """
    m: dict[str, Any] = {}
    if item.answerable:
        ranks = relevant_ranks(ranked_texts, item.evidence)
        m["first_relevant_rank"] = ranks[0] if ranks else None
        for k in (1, 3, 5):
            m[f"hit@{k}"] = hit_at(ranks, k)
        m["mrr@10"] = mrr_at(ranks, 10)
        m[f"hit@{BUDGET_TOKENS}tok"] = hit_within_budget(ranked_tokens, ranks, BUDGET_TOKENS)
        shown = "" if refused else strip_markers(answer_text)
        if item.gold:
            m["gold_contained"] = gold_contained(shown, item.gold)
            span = short if short and not refused else shown
            m["cmrc_f1"] = cmrc_f1(span, item.gold)
            m["cmrc_em"] = cmrc_em(span, item.gold)
            m["correct"] = m["gold_contained"] == 1.0
        else:
            m["key_fact_recall"] = key_fact_recall(shown, item.answers) if not refused else 0.0
            m["correct"] = m["key_fact_recall"] == 1.0
        m["citation_precision"] = None if refused else citation_precision(cited_texts, item.evidence, item.answers)
    else:
        m["correct"] = refused
    m["answer_chars"] = None if refused else answer_chars(answer_text)
    m["citation_coverage"] = None if refused else citation_coverage(answer_text)
    m["numeric_faithful"] = None if refused else numeric_faithful(answer_text, [*cited_texts, *cited_spans])
    return m


def score_item(service: AnswerService, item: EvalItem, answerer: str | None, k: int | None) -> dict[str, Any]:
    """Ask one question through the answer path and score it: one line of results.jsonl.

    Retrieval is measured on what the answer path itself retrieves (query
    expansion, scope, completed sentences and all), run again ``DEPTH`` deep;
    citations on the passages exactly as the answerer saw them.
    """
    exclude = (doc_id_of_passage(item.context),) if item.without_context else ()
    answer = service.answer(item.question, answerer=answerer, k=k, exclude_docs=exclude)
    depth = max(DEPTH, k or service.settings.retrieval.k)
    ranked = service.retrieve(item.question, k=depth, exclude_docs=exclude).passages
    own = doc_id_of_passage(item.context) if item.context else None
    ranked_texts = [shown_passage(p) if own is None or p.doc_id == own else "" for p in ranked]
    ranked_tokens = [service.counter.count(p.text) for p in ranked]
    in_context = {p.chunk_id for p in answer.passages}
    by_n = {p.n: p for p in answer.passages}
    cited_texts = [shown_passage(by_n[n]) for n in dict.fromkeys(c.n for c in answer.citations) if n in by_n]
    cited_spans = [_span(service.snapshot, c) for c in answer.citations]
    metrics = item_metrics(item, answer.text, answer.refused, ranked_texts, ranked_tokens, cited_texts, cited_spans,
                           answer.short)
    relevant = set(relevant_ranks(ranked_texts, item.evidence)) if item.answerable else set()
    return {
        "id": item.id, "question": item.question, "type": item.type, "lang": item.lang,
        "answerable": item.answerable, "expected": list(item.gold or item.answers),
        "answer": answer.text, "short": answer.short, "probability": answer.probability,
        "answerer": answer.answerer, "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "citations": [
            {"n": c.n, "chunk_id": c.chunk_id, "source": c.source, "quote": c.quote, "start": c.start, "end": c.end}
            for c in answer.citations
        ],
        "retrieved": [
            {"rank": r, "chunk_id": p.chunk_id, "source": p.source, "text": shown_passage(p), "tokens": t,
             "score": round(float(p.score), 6), "relevant": r in relevant, "in_context": p.chunk_id in in_context}
            for r, (p, t) in enumerate(zip(ranked, ranked_tokens), 1)
        ],
        "checks": asdict(answer.checks),
        "notes": list(answer.notes),
        "latency_ms": dict(answer.timings_ms),
        "metrics": metrics,
    }


def _span(snapshot: Snapshot, citation: Citation) -> str:
    """The document's own text at a citation's offsets (read from the index, not from the quote)."""
    doc_id = snapshot.chunks[snapshot.row(citation.chunk_id)].doc_id
    return snapshot.document_text(doc_id)[citation.start:citation.end]


def score_set(service: AnswerService, eval_set: EvalSet, answerer: str | None = None, k: int | None = None,
              progress: bool = True) -> list[dict[str, Any]]:
    """Every item of the set, after a throwaway question that loads the model."""
    from tqdm import tqdm

    # Load the model and the answerer's tables first: a refused question does not reach them all.
    warm = next((i.question for i in eval_set.items if i.answerable), WARM_UP)
    service.answer(warm, answerer=answerer, k=k)
    items = tqdm(eval_set.items, desc=f"eval {eval_set.name}", unit="q", disable=not progress, dynamic_ncols=True)
    return [score_item(service, item, answerer, k) for item in items]


# --- a whole run --------------------------------------------------------------


def run_eval(eval_set: EvalSet, settings: Settings, options: RunOptions, out_dir: Path) -> dict[str, Any]:
    """Run the set and write results.jsonl, summary.json, report.md and the plots into ``out_dir``."""
    from eval.plots import write_plots
    from eval.report import write_report, write_results, write_summary
    from eval.summary import summarize

    started = time.time()
    target = open_target(eval_set, settings, options)
    build_s = time.time() - started
    rows = score_set(target.service, eval_set, options.answerer, options.k, options.progress)
    metrics, by_type = summarize(rows)
    service = target.service
    summary = {
        "label": options.label or f"{eval_set.name} / {options.recipe}",
        "set": {"name": eval_set.name, "path": str(eval_set.path or ""), "sha256": set_digest(eval_set),
                "questions": len(eval_set.items), "sample": eval_set.sample},
        "recipe": {"name": options.recipe, "description": get_recipe(options.recipe).description},
        "corpus": {"docs": [str(p) for p in options.docs], "distractors": options.distractors,
                   "index_dir": str(options.index_dir or "")},
        "index": target.index,
        "answerer": rows[0]["answerer"] if rows else options.answerer,
        "k": options.k or service.settings.retrieval.k,
        "depth": DEPTH,
        "budget_tokens": BUDGET_TOKENS,
        "settings": service.settings.model_dump(mode="json"),
        "versions": versions(),
        "source_revision": source_revision(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "index_build_s": round(build_s, 2),
        "duration_s": round(time.time() - started, 2),
        "metrics": metrics,
        "by_type": by_type,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results(out_dir, rows)
    write_summary(out_dir, summary)
    summary["plots"] = write_plots(out_dir, rows, summary)
    write_summary(out_dir, summary)
    write_report(out_dir, summary, rows)
    return summary
