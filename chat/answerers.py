"""The answerers: peers behind one protocol, each turning a :class:`Retrieval` into a :class:`Draft`.

- :class:`Extractive` quotes the passages: the learned selector's sentences and the
  span ranker's short answer (:mod:`chat.learned`), or, with ``answer.selector = "rules"``,
  the hand-written answerer of earlier versions (:mod:`chat.extractive`);
- :class:`LLMAnswerer` asks a chat endpoint (:mod:`chat.llm`), given per request.

The service runs the one that is asked for, then its grounding checks; when an
answer has numbers the passages do not hold, it asks the same answerer once to
``revise`` (an extractive answer quotes the passages, so it has nothing to revise).
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol, Sequence

from chat.extractive import ExtractiveAnswerer
from chat.learned import SelectorAnswerer
from chat.selector import Models
from chat.stages import Draft, Retrieval
from prompts import quote_passage, refusal, render


class Answerer(Protocol):
    name: str

    def generate(self, retrieval: Retrieval) -> Iterator[str | Draft]:
        """The answer's text as it is produced, then the whole :class:`Draft`."""
        ...

    def revise(self, retrieval: Retrieval, unsupported: Sequence[str]) -> Draft | None:
        """A second answer, told which of its numbers the passages do not hold; None when
        the answerer cannot do better."""
        ...


class Extractive:
    """Answers quoted from the passages (no model is asked)."""

    name = "extractive"

    def __init__(self, rules: ExtractiveAnswerer, learned: SelectorAnswerer, models: Models | None) -> None:
        self.rules = rules
        self.learned = learned
        self.models = models

    def generate(self, retrieval: Retrieval) -> Iterator[str | Draft]:
        question = retrieval.question
        if self.models is None:  # the rules of earlier versions
            draft = Draft(self.rules.answer(question.focus, retrieval.passages, question.lang, retrieval.qvec,
                                            question.aliases))
        else:
            draft = self.learned.draft(question, retrieval.passages, retrieval.ranked, retrieval.qvec)
        yield from pieces(draft.text)
        yield draft

    def revise(self, retrieval: Retrieval, unsupported: Sequence[str]) -> Draft | None:
        return None


class LLMAnswerer:
    """Answers written by a chat endpoint from the numbered passages, streamed."""

    name = "llm"

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint

    def messages(self, retrieval: Retrieval, reminder: str = "") -> list[tuple[str, str]]:
        lang = retrieval.question.lang
        passages = "\n\n".join(
            quote_passage(p.n, p.source.rsplit("/", 1)[-1], " / ".join(p.heading[-1:]), p.text)
            for p in retrieval.passages
        )
        prompt = render("answer", lang, refusal=refusal(lang), passages=passages, question=retrieval.question.standalone)
        return [("user", prompt + (("\n" + reminder) if reminder else ""))]

    def generate(self, retrieval: Retrieval) -> Iterator[str | Draft]:
        parts = []
        for token in self.endpoint.stream(self.messages(retrieval)):
            parts.append(token)
            yield token
        yield Draft("".join(parts))

    def revise(self, retrieval: Retrieval, unsupported: Sequence[str]) -> Draft | None:
        reminder = ("注意：上一次回答中的这些数字不在资料里：" if retrieval.question.lang == "zh" else
                    "Note: these numbers in your last answer are not in the passages: ") + "、".join(unsupported)
        return Draft(self.endpoint.complete(self.messages(retrieval, reminder)))


def pieces(text: str) -> Iterator[str]:
    """An extractive answer a sentence at a time, as a stream."""
    start = 0
    for i, ch in enumerate(text):
        if ch == "]" and (i + 1 == len(text) or text[i + 1] != "["):
            yield text[start : i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]
