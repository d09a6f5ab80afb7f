"""The answer path: one chain used by the CLI, the UI, the API and the eval.

    question (+ history)
      → prepare: clean, check, truncate, detect the language, make it standalone
      → retrieve: hybrid retrieval from the index
      → fit: passages that fit the token budget
      → generate: refuse, or answer (extractive, or an OpenAI-compatible LLM)
      → finish: repair and resolve citations, run the grounding checks

The steps are LangChain runnables composed with LCEL; ``answer`` runs the
whole chain, ``stream`` runs the first three and then streams the answer.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Iterator, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableLambda

from chat.checks import numeric_check
from chat.citations import answer_sentences, coverage, drop_invalid, repair_markers, resolve
from chat.condense import History, condense_by_rule, follow_up_core, history_text, is_follow_up
from chat.context import fit_passages, truncate_question
from chat.complete import complete
from chat.extractive import ITEMS_QUESTION, LIST_QUESTION, ExtractiveAnswerer, question_parts, section_line
from chat.frame import frame_of
from chat.refusal import RefusalPolicy
from chat.query import QueryBuilder
from chat.scope import in_scope
from chat.sections import section_name
from chat.text import clean_question, language
from chat.types import Answer, Checks, Passage
from index.retriever import HybridRetriever
from index.store import Snapshot
from ingest.normalize import normalize_text
from ingest.tokens import get_counter
from prompts import quote_passage, refusal, render
from ragchat.errors import EmptyQuestionError, LLMError
from ragchat.settings import Settings

MAX_QUESTION_TOKENS = 256
SCOPE_DEPTH = 4  # with names to match, look this many times deeper for passages of documents that name them
ANSWERERS = ("extractive", "llm")


def _passages(docs) -> list[Passage]:
    out = []
    for n, doc in enumerate(docs, 1):
        m = doc.metadata
        out.append(Passage(
            n=n, chunk_id=m["chunk_id"], doc_id=m["doc_id"], source=m["source"], heading=tuple(m["heading_path"]),
            kind=m["kind"], text=doc.page_content, spans=tuple(tuple(s) for s in m["spans"]),
            score=float(m["score"]), dense_score=float(m["dense_score"] or 0.0),
            keyword_score=float(m["keyword_score"] or 0.0), lead=m.get("lead", ""),
        ))
    return out


class AnswerService:
    """Answers questions over one loaded index."""

    def __init__(
        self,
        settings: Settings,
        snapshot: Snapshot,
        embeddings: Embeddings,
        endpoint: Any | None = None,
        policy: RefusalPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self.embeddings = embeddings
        self.retriever = HybridRetriever.from_settings(snapshot, embeddings, settings)
        self.counter = get_counter(settings.chunking.encoding)
        self.policy = policy or RefusalPolicy()
        keyword = snapshot.keyword
        self.extractive = ExtractiveAnswerer(keyword.tokenizer.tokenize, keyword.idf, self._embed_sentences)
        self.endpoint = endpoint
        self._sentence_vectors: dict[str, np.ndarray] = {}
        self.queries = QueryBuilder(snapshot.keyword)
        self._documents: dict[str, str] = {}  # normalised document texts, for completing cut sentences
        self.pre_chain = RunnableLambda(self._prepare) | RunnableLambda(self._retrieve) | RunnableLambda(self._fit)
        self.chain = self.pre_chain | RunnableLambda(self._generate) | RunnableLambda(self._finish)

    @classmethod
    def from_settings(cls, settings: Settings, progress: bool = False) -> "AnswerService":
        """Open the configured index (building it on first run) and the configured LLM, if any."""
        from index.models import embeddings_from_settings
        from index.open import open_index

        embeddings = embeddings_from_settings(settings)
        snapshot = open_index(settings, embeddings, progress=progress)
        endpoint = None
        if settings.llm.base_url and settings.llm.model:
            from chat.llm import ChatEndpoint

            endpoint = ChatEndpoint(settings.llm)
        return cls(settings, snapshot, embeddings, endpoint)

    # --- public API ------------------------------------------------------------

    def answer(self, question: str, history: History = (), answerer: str | None = None, k: int | None = None,
               fallback: bool = True) -> Answer:
        """Answer ``question``. On an LLM failure with ``fallback``, the extractive
        answer is returned with a note saying why; without it the error is raised."""
        state = {"question": question, "history": list(history), "answerer": self._pick(answerer), "k": k}
        try:
            return self.chain.invoke(state)
        except LLMError as exc:
            if not fallback:
                raise
            answer = self.chain.invoke({**state, "answerer": "extractive"})
            answer.notes.insert(0, f"the LLM endpoint failed ({exc}); this is the extractive answer")
            return answer

    def stream(self, question: str, history: History = (), answerer: str | None = None,
               k: int | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is produced, then the finished ``Answer``.

        LLM errors are raised (after any partial text); the caller can then ask
        for the extractive answer.
        """
        state = self.pre_chain.invoke(
            {"question": question, "history": list(history), "answerer": self._pick(answerer), "k": k}
        )
        parts: list[str] = []
        for token in self._tokens(state):
            parts.append(token)
            yield token
        yield self._finish({**state, "raw": "".join(parts)})

    def _pick(self, answerer: str | None) -> str:
        name = answerer or ("llm" if self.endpoint is not None else "extractive")
        if name not in ANSWERERS:
            raise ValueError(f"unknown answerer {name!r}; use one of {', '.join(ANSWERERS)}")
        if name == "llm" and self.endpoint is None:
            raise LLMError("no LLM endpoint is configured (set llm.base_url and llm.model)")
        return name

    # --- the chain's steps -------------------------------------------------------

    def _prepare(self, state: dict) -> dict:
        started = time.perf_counter()
        question = clean_question(state["question"] or "")
        if not question:
            raise EmptyQuestionError("the question is empty; type a question about the documents")
        if not any(ch.isalnum() for ch in question):  # ？？？ or 🙂: nothing to search for
            raise EmptyQuestionError("the question has no words, only punctuation or symbols; "
                                     "type a question about the documents")
        question, truncated = truncate_question(question, self.counter, MAX_QUESTION_TOKENS)
        lang = language(question)
        history = [(role, clean_question(text)) for role, text in state["history"]]
        standalone = self._standalone(question, history, lang, state["answerer"])
        return {**state, "question": question, "history": history, "lang": lang, "standalone": standalone,
                "truncated": truncated, "timings": {"condense": (time.perf_counter() - started) * 1000},
                "started": started}

    def _standalone(self, question: str, history: History, lang: str, answerer: str) -> str:
        if not history:
            return question
        if answerer == "llm" and self.endpoint is not None and is_follow_up(question, lang):
            prompt = render("condense", lang, history=history_text(history), question=question)
            try:
                rewritten = self.endpoint.complete([("user", prompt)]).strip().splitlines()
            except LLMError:
                rewritten = []
            if rewritten and rewritten[0].strip():
                return rewritten[0].strip()
        return condense_by_rule(question, history, lang)

    def _retrieve(self, state: dict) -> dict:
        started = time.perf_counter()
        k = state["k"] or self.settings.retrieval.k
        query = self.queries.build(state["standalone"], state["lang"])
        qvec = self.retriever.query_vector(query.text)
        docs = self.retriever.search(query.text, k=k, qvec=qvec, keyword_query=query.keyword)
        kept = in_scope(docs, list(query.places), self._normalised_document)
        if len(kept) < len(docs):  # passages of documents that never name the place: look deeper
            docs = self.retriever.search(query.text, k=k * SCOPE_DEPTH, qvec=qvec, keyword_query=query.keyword)
            kept = in_scope(docs, list(query.places), self._normalised_document)[:k]
        docs = kept
        if query.chinese:  # an English question's Chinese terms, also searched by meaning
            docs = _fuse(docs, self.retriever.search(query.chinese, k=k), k)
        focus = query.focus
        if state["standalone"] != state["question"] and state["history"]:
            # A follow-up: its own topic ranks with the carried-over scope, not under it.
            focus = follow_up_core(state["question"], state["lang"])
            docs = _fuse(self.retriever.search(focus, k=k), docs, k)
        docs = self._with_part(docs, state["standalone"], k)
        docs = self._with_section(docs, focus, k, qvec)
        passages = [complete(p, self._normalised_document) for p in _passages(docs)]
        timings = {**state["timings"], "retrieve": (time.perf_counter() - started) * 1000}
        return {**state, "passages": passages, "qvec": qvec, "timings": timings, "focus": focus,
                "aliases": query.aliases, "names": list(query.places), "chinese": query.chinese}

    def _with_section(self, docs: list, question: str, k: int, qvec: np.ndarray) -> list:
        """哪几件事 in a section the question names: the section read whole, first (its items
        may sit in passages the question's words did not find)."""
        if not LIST_QUESTION.search(question) and not ITEMS_QUESTION.search(question):
            return docs
        ex = self.extractive
        passages = _passages(docs)
        named = section_name(question, passages, ex.terms_with(None), ex.idf)
        if named is None:
            return docs
        kind, name, _ = named
        holder = next((p for p in passages if p.kind != "outline" and
                       (p.heading[-1:] == (name,) if kind == "heading" else name in p.text)), None)
        if holder is None:
            return docs
        section = self.retriever.under_heading(holder.doc_id, holder.heading, qvec)[:k]
        ids = {d.id for d in section}
        return section + [d for d in docs if d.id not in ids][: max(0, k - len(section))]

    def _with_part(self, docs: list, question: str, k: int) -> list:
        """第四部分: also what sits under the outline's line 四、…, keeping the outline."""
        section = section_line(question, _passages(docs))
        if section is None:
            return docs
        passage, start, end = section
        outline = next(d for d in docs if d.id == passage.chunk_id)
        docs = _fuse(docs, self.retriever.search(passage.text[start:end], k=k), k)
        return docs if outline in docs else docs[: k - 1] + [outline]

    def _fit(self, state: dict) -> dict:
        llm = self.settings.llm
        kept, dropped = fit_passages(
            state["passages"], self.counter, llm.context_window, llm.max_tokens, state["question"],
            history_text(state["history"]), state["lang"],
        )
        focus = state["focus"]
        if state["lang"] == "en":  # English: weigh its Chinese terms; a place (Siping → 四平) is scope, not support
            focus = " ".join(t for t in state["chinese"].split() if t not in state["names"])
        support, refusal_reason, unanswered = self._support(focus, kept, state["lang"], state["aliases"],
                                                            frame_of(state["standalone"]))
        if not kept and state.get("names"):
            refusal_reason = "no document that mentions " + "、".join(state["names"]) + " holds a matching passage"
        return {**state, "passages": kept, "dropped": dropped, "refusal": refusal_reason,
                "support": support, "unanswered": unanswered}

    def _support(self, focus: str, passages: list[Passage], lang: str, aliases,
                 en_frame: Any = None) -> tuple[Any, str, list[str]]:
        """The refusal policy's evidence, its reason to refuse ("" to answer), and the parts
        left unanswered. A question in parts (建成了多少亩？今年计划再新建多少亩？) is
        answered when one of its parts can be; the others are named in a note."""
        parts = question_parts(focus) if lang == "zh" else [focus]
        terms_of, knows = self.extractive.terms_with(aliases), self.snapshot.keyword.knows
        found = []
        for i, part in enumerate(parts):
            others = "".join(p for j, p in enumerate(parts) if j != i)
            weights = self.extractive.term_weights(part, others)
            frame = frame_of(part) if lang == "zh" else en_frame
            support = self.policy.support(weights, passages, terms_of, knows, frame, aliases)
            found.append((support, self.policy.refuse(support, lang)))
        answered = next((f for f in found if not f[1]), None)
        if answered is None:
            return (*found[0], [])
        return (*answered, [f"{part.strip()} ({reason})" for part, (_, reason) in zip(parts, found) if reason])

    def _tokens(self, state: dict) -> Iterator[str]:
        if state["refusal"] or not state["passages"]:
            yield refusal(state["lang"])
            return
        if state["answerer"] == "extractive":
            text = self.extractive.answer(state["focus"], state["passages"], state["lang"], state["qvec"], state["aliases"])
            yield from _pieces(text)
            return
        yield from self.endpoint.stream(self._messages(state))

    def _messages(self, state: dict, reminder: str = "") -> list[tuple[str, str]]:
        lang = state["lang"]
        passages = "\n\n".join(
            quote_passage(p.n, p.source.rsplit("/", 1)[-1], " / ".join(p.heading[-1:]), p.text) for p in state["passages"]
        )
        prompt = render("answer", lang, refusal=refusal(lang), passages=passages, question=state["standalone"])
        return [("user", prompt + (("\n" + reminder) if reminder else ""))]

    def _generate(self, state: dict) -> dict:
        started = time.perf_counter()
        raw = "".join(self._tokens(state))
        state = {**state, "raw": raw, "timings": {**state["timings"], "answer": (time.perf_counter() - started) * 1000}}
        if state["answerer"] == "llm" and not state["refusal"]:
            first = self._finish(state)
            if not first.checks.numeric_faithful:  # one retry, told what was wrong
                reminder = ("注意：上一次回答中的这些数字不在资料里：" if state["lang"] == "zh" else
                            "Note: these numbers in your last answer are not in the passages: ")
                reminder += "、".join(first.checks.unsupported_numbers)
                retry = self.endpoint.complete(self._messages(state, reminder))
                state = {**state, "raw": retry, "retried": True}
        return state

    def _finish(self, state: dict) -> Answer:
        lang = state["lang"]
        passages: list[Passage] = state["passages"]
        refused_text = refusal(lang)
        raw = state.get("raw", "")
        refused = bool(state["refusal"]) or not passages or raw.strip().startswith(refused_text)
        checks = Checks(passages_dropped=state["dropped"], question_truncated=state["truncated"])
        if refused:
            text, citations = refused_text, []
        else:
            text, checks.repaired_markers = repair_markers(raw.strip())
            text, checks.dropped_markers = drop_invalid(text, len(passages))
            sentences = answer_sentences(text)
            checks.citation_coverage = coverage(sentences)
            citations = resolve(sentences, passages)
            checks.numeric_faithful, checks.unsupported_numbers = numeric_check(sentences, passages)
        timings = dict(state["timings"])
        timings["total"] = (time.perf_counter() - state["started"]) * 1000
        notes = []
        if state.get("retried"):
            notes.append("the first LLM answer had numbers not in the passages; it was asked once more")
        if not refused:
            notes += [f"not answered by the passages: {part}" for part in state.get("unanswered", [])]
        return Answer(
            question=state["question"], standalone_question=state["standalone"], text=text, citations=citations,
            refused=refused, passages=passages, checks=checks, timings_ms={k: round(v, 2) for k, v in timings.items()},
            answerer=state["answerer"], lang=lang,
            refusal_reason=state["refusal"] or ("the answerer found no answer in the passages" if refused and passages else
                                                "" if not refused else "nothing was retrieved"),
            notes=notes,
        )

    # --- helpers -----------------------------------------------------------------

    def _normalised_document(self, doc_id: str) -> str:
        if doc_id not in self._documents:
            self._documents[doc_id] = normalize_text(self.snapshot.document_text(doc_id))
        return self._documents[doc_id]

    def _embed_sentences(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._sentence_vectors]
        if missing:
            vectors = np.asarray(self.embeddings.embed_documents(missing), dtype=np.float32)
            if len(self._sentence_vectors) > 20000:
                self._sentence_vectors.clear()
            self._sentence_vectors.update(zip(missing, vectors))
        return np.stack([self._sentence_vectors[t] for t in texts])


def _fuse(first: list, second: list, k: int) -> list:
    """Two rankings of documents merged by reciprocal rank fusion."""
    from index.retriever import rrf_fuse

    by_id = {d.id: d for d in first + second}
    fused = rrf_fuse([([d.id for d in first], 1.0), ([d.id for d in second], 1.0)], rrf_k=10)
    return [by_id[cid] for cid, _ in fused[:k]]


def _pieces(text: str) -> Iterator[str]:
    """Yield an extractive answer a sentence at a time, as a stream."""
    start = 0
    for i, ch in enumerate(text):
        if ch == "]" and (i + 1 == len(text) or text[i + 1] != "["):
            yield text[start : i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]
