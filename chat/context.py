"""Fit the question and passages into the model's window, measured with tiktoken."""

from __future__ import annotations

from chat.types import Passage
from ingest.tokens import TokenCounter
from prompts import quote_passage, render, refusal


def prompt_overhead(counter: TokenCounter, lang: str) -> int:
    """Tokens of the answer template with no passages and no question."""
    return counter.count(render("answer", lang, refusal=refusal(lang), passages="", question=""))


def truncate_question(question: str, counter: TokenCounter, max_tokens: int) -> tuple[str, bool]:
    if counter.count(question) <= max_tokens:
        return question, False
    return question[: counter.longest_prefix(question, max_tokens)], True


def fit_passages(
    passages: list[Passage],
    counter: TokenCounter,
    window: int,
    answer_tokens: int,
    question: str,
    history: str,
    lang: str,
) -> tuple[list[Passage], int]:
    """The passages that fit, in rank order, and how many had to be dropped.

    The budget is the window minus the answer, the question, the history and
    the template; each passage costs its quoted form.
    """
    budget = window - answer_tokens - counter.count(question) - counter.count(history) - prompt_overhead(counter, lang)
    kept: list[Passage] = []
    for passage in passages:
        cost = counter.count(quote_passage(passage.n, passage.source, " / ".join(passage.heading), passage.text)) + 1
        if cost > budget:
            break
        kept.append(passage)
        budget -= cost
    return kept, len(passages) - len(kept)
