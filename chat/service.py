"""The answer path: one path used by the CLI, the UI, the API and the eval.

    question (+ history)
      → prepare: clean, check, truncate, detect the language, make it standalone  → Prepared
      → retrieve: analyse the question once (Question), search, run the expanders  → Found
      → decide: fit the passages to the budget, rank the candidate sentences
        (the learned selector), and answer or refuse (the refusal model)           → Retrieval
      → generate: the extractive answer, or an LLM's, streamed
      → finish: repair and resolve citations, run the grounding checks            → Answer

The first three steps are LangChain runnables composed with LCEL
(``retrieval_chain``); each passes a typed value (docs/architecture.md).
``stream`` runs them and then streams the answer; ``answer`` collects ``stream``,
so both give the same answer. An LLM endpoint may be given per request, so a UI
session with its own endpoint shares the loaded index.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableLambda

from chat.checks import numeric_check
from chat.citations import answer_sentences, coverage, drop_invalid, repair_markers, resolve
from chat.complete import complete
from chat.condense import History, condense_by_rule, history_text, is_follow_up, follow_up_core
from chat.context import fit_passages, truncate_question
from chat.expanders import Search, expanders
from chat.extractive import ExtractiveAnswerer, question_parts
from chat.features import candidates, featurize
from chat.frame import frame_of
from chat.answerers import Answerer, Extractive, LLMAnswerer
from chat.learned import SelectorAnswerer
from chat.query import QueryBuilder
from chat.question import Question, answer_type
from chat.refusal import RefusalPolicy, Support
from chat.selector import Decision, Models, Scored, decide, load_models, rank
from chat.text import clean_question, language
from chat.stages import Draft, Found, Prepared, Request, Retrieval
from chat.types import Answer, Checks, Notice, Passage, passages_of
from index.retriever import HybridRetriever
from index.store import Snapshot
from ingest.normalize import normalize_text
from ingest.tokens import get_counter
from prompts import refusal, render
from ragchat.errors import EmptyQuestionError, LLMError
from ragchat.settings import Settings

MAX_QUESTION_TOKENS = 256
ANSWERERS = ("extractive", "llm")


class AnswerService:
    """Answers questions over one loaded index."""

    def __init__(
        self,
        settings: Settings,
        snapshot: Snapshot,
        embeddings: Embeddings,
        endpoint: Any | None = None,
        policy: RefusalPolicy | None = None,
        models: Models | None = None,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self.embeddings = embeddings
        self.retriever = HybridRetriever.from_settings(snapshot, embeddings, settings)
        self.counter = get_counter(settings.chunking.encoding)
        self.policy = policy or RefusalPolicy()
        keyword = snapshot.keyword
        self.extractive = ExtractiveAnswerer(keyword.tokenizer.tokenize, keyword.idf, self._embed_sentences)
        self.models = models if models is not None else (load_models() if settings.answer.selector == "learned" else None)
        self.learned = SelectorAnswerer(self.extractive, settings.answer)
        self.quoting = Extractive(self.extractive, self.learned, self.models)
        self.endpoint = endpoint
        self._sentence_vectors: dict[str, np.ndarray] = {}
        # the selector's sentence cosines (its ``dense`` features) mean what they meant in training only
        # with the model it was trained with; with another model they stay missing
        trained_with = self.models.manifest.get("embedding_model") if self.models is not None else None
        self._dense_features = trained_with in (None, getattr(embeddings, "model_id", None))
        self.queries = QueryBuilder(snapshot.keyword, subwords="subwords" in settings.answer.expanders)
        self.expanders = expanders(settings.answer.expanders)
        self._documents: dict[str, str] = {}  # normalised document texts, for completing cut sentences
        self.retrieval_chain = (RunnableLambda(self.prepare) | RunnableLambda(self._retrieve)
                                | RunnableLambda(self._decide))

    @classmethod
    def from_settings(cls, settings: Settings, progress: bool = False,
                      on_wait: Callable[[str], None] | None = None) -> "AnswerService":
        """Open the configured index (building it on first run, or waiting for the process
        that is building it: ``on_wait`` is told) and the configured LLM, if any."""
        from index.models import embeddings_from_settings
        from index.open import open_index

        embeddings = embeddings_from_settings(settings)
        snapshot = open_index(settings, embeddings, progress=progress, on_wait=on_wait)
        endpoint = None
        if settings.llm.base_url and settings.llm.model:
            from chat.llm import ChatEndpoint

            endpoint = ChatEndpoint(settings.llm)
        return cls(settings, snapshot, embeddings, endpoint)

    # --- public API ------------------------------------------------------------

    def retrieve(self, question: str, history: History = (), k: int | None = None,
                 exclude_docs: Sequence[str] = (), answerer: str = "extractive") -> Retrieval:
        """Everything before the answer: the analysed question, the passages, the ranked
        candidates and the decision (the eval and the trainer read this)."""
        return self.retrieval_chain.invoke(Request(question, tuple(history), answerer, k, tuple(exclude_docs)))

    def answer(self, question: str, history: History = (), answerer: str | None = None, k: int | None = None,
               fallback: bool = True, exclude_docs: Sequence[str] = (), endpoint: Any = None) -> Answer:
        """Answer ``question``: ``stream`` collected. On an LLM failure with ``fallback``, the
        extractive answer is returned with a note saying why; without it the error is raised.
        ``exclude_docs``: documents searched as if they were not indexed (the eval's negative rejection)."""
        final = None
        for piece in self.stream(question, history, answerer, k, fallback, exclude_docs, endpoint):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def stream(self, question: str, history: History = (), answerer: str | None = None, k: int | None = None,
               fallback: bool = False, exclude_docs: Sequence[str] = (), endpoint: Any = None,
               ) -> Iterator[str | Notice | Answer]:
        """Yield the answer's text as it is produced, then the finished ``Answer``.

        With ``fallback``, an LLM failure yields a :class:`Notice`, then the extractive
        answer; without, the error is raised (after any partial text).
        """
        endpoint = endpoint if endpoint is not None else self.endpoint
        name = self._pick(answerer, endpoint)
        request = Request(question, tuple(history), name, k, tuple(exclude_docs), endpoint)
        retrieval = self.retrieval_chain.invoke(request)
        try:
            yield from self._generate(retrieval)
        except LLMError as exc:
            if not fallback:
                raise
            note = f"the LLM endpoint failed ({exc}); this is the extractive answer"
            yield Notice(note)
            plain = replace(retrieval, prepared=replace(retrieval.prepared,
                                                        request=replace(request, answerer="extractive")))
            for piece in self._generate(plain):
                if isinstance(piece, Answer):
                    piece.notes.insert(0, note)
                yield piece

    def _pick(self, answerer: str | None, endpoint: Any) -> str:
        name = answerer or ("llm" if endpoint is not None else "extractive")
        if name not in ANSWERERS:
            raise ValueError(f"unknown answerer {name!r}; use one of {', '.join(ANSWERERS)}")
        if name == "llm" and endpoint is None:
            raise LLMError("no LLM endpoint is configured (set llm.base_url and llm.model)")
        return name

    # --- prepare ---------------------------------------------------------------

    def prepare(self, request: Request) -> Prepared:
        """The cleaned, checked and standalone question (the first step)."""
        started = time.perf_counter()
        question = clean_question(request.question or "")
        if not question:
            raise EmptyQuestionError("the question is empty; type a question about the documents")
        if not any(ch.isalnum() for ch in question):  # ？？？ or 🙂: nothing to search for
            raise EmptyQuestionError("the question has no words, only punctuation or symbols; "
                                     "type a question about the documents")
        question, truncated = truncate_question(question, self.counter, MAX_QUESTION_TOKENS)
        lang = language(question)
        history = tuple((role, clean_question(text)) for role, text in request.history)
        standalone = self._standalone(question, history, lang, request)
        return Prepared(request, question, history, lang, standalone, truncated, started,
                        {"condense": (time.perf_counter() - started) * 1000})

    def _standalone(self, question: str, history: History, lang: str, request: Request) -> str:
        if not history:
            return question
        if request.answerer == "llm" and request.endpoint is not None and is_follow_up(question, lang):
            prompt = render("condense", lang, history=history_text(history), question=question)
            try:
                rewritten = request.endpoint.complete([("user", prompt)]).strip().splitlines()
            except LLMError:
                rewritten = []
            if rewritten and rewritten[0].strip():
                return rewritten[0].strip()
        return condense_by_rule(question, history, lang)

    # --- retrieve ----------------------------------------------------------------

    def analyse(self, prepared: Prepared) -> tuple[Question, str | None]:
        """The :class:`Question` of a prepared request, and the keywords of its first search."""
        query = self.queries.build(prepared.standalone, prepared.lang)
        follow = prepared.standalone != prepared.text and bool(prepared.history)
        focus = follow_up_core(prepared.text, prepared.lang) if follow else query.focus
        weighed = focus
        if prepared.lang == "en":  # an English question is weighed on its Chinese terms; a place is scope
            weighed = " ".join(t for t in query.chinese.split() if t not in query.places)
        weights = self.extractive.term_weights(weighed) if weighed else {}
        parts = tuple(question_parts(focus)) if prepared.lang == "zh" else (focus,)
        question = Question(
            text=prepared.text, lang=prepared.lang, standalone=prepared.standalone, focus=focus,
            weights=weights, places=query.places if "places" in self.settings.answer.expanders else (),
            parts=parts, asked=answer_type(prepared.standalone, prepared.lang), frame=frame_of(prepared.standalone),
            chinese=query.chinese if "english" in self.settings.answer.expanders else "", aliases=query.aliases,
        )
        return question, query.keyword

    def first_search(self, prepared: Prepared) -> tuple[Search, list]:
        """The analysed question's first search, and the context the expanders work in."""
        request = prepared.request
        k = request.k or self.settings.retrieval.k
        question, keyword_query = self.analyse(prepared)
        qvec = self.retriever.query_vector(question.standalone)
        docs = self.retriever.search(question.standalone, k=k, qvec=qvec, keyword_query=keyword_query,
                                     exclude_docs=request.exclude)
        search = Search(self.retriever, question, k, qvec, keyword_query, request.exclude, self._normalised_document,
                        self.extractive.terms_with(None), self.extractive.idf,
                        is_follow_up=prepared.standalone != prepared.text and bool(prepared.history))
        return search, docs

    def _retrieve(self, prepared: Prepared) -> Found:
        started = time.perf_counter()
        search, docs = self.first_search(prepared)
        for expander in self.expanders:
            docs = expander.expand(search, docs)
        passages = [complete(p, self._normalised_document) for p in passages_of(docs)]
        timings = {**prepared.timings, "retrieve": (time.perf_counter() - started) * 1000}
        return Found(replace(prepared, timings=timings), search.question, passages, search.qvec)

    # --- decide --------------------------------------------------------------------

    def _decide(self, found: Found) -> Retrieval:
        started = time.perf_counter()
        prepared, question = found.prepared, found.question
        llm = self.settings.llm
        kept, dropped = fit_passages(
            found.passages, self.counter, llm.context_window, llm.max_tokens, prepared.text,
            history_text(prepared.history), prepared.lang,
        )
        support, reason, unanswered = self.support(question, kept)
        ranked, X = self.rank(question, kept, found.qvec)
        hard = self.policy.garbled(prepared.text, prepared.lang)
        if not hard and kept and self._dense_features:  # the similarity floor holds for the trained model
            hard = self.policy.far(support, prepared.lang)
        if hard:
            decision = Decision(False, 0.0, hard)
        elif not kept:
            decision = Decision(False, 0.0, "no document that mentions " + "、".join(question.places) +
                                " holds a matching passage" if question.places else "nothing was retrieved")
        elif self.models is None:  # the rules of earlier versions
            decision = Decision(not reason, 1.0 if not reason else 0.0, reason)
        else:
            decision = decide(self.models, ranked, X, support, question, self.settings.answer.min_answer_probability,
                              rule_reason=reason,
                              known=self.snapshot.keyword.knows if self.settings.answer.unknown_head_rule else None)
        timings = {**prepared.timings, "decide": (time.perf_counter() - started) * 1000}
        return Retrieval(prepared, question, kept, dropped, support, ranked, X, decision, tuple(unanswered),
                         found.qvec, timings)

    def rank(self, question: Question, passages: list[Passage], qvec: np.ndarray | None) -> tuple[list[Scored], np.ndarray]:
        """The candidate sentences of ``passages``, ranked by the selector, and their features."""
        if self.models is None:
            cands = candidates(question, passages)
            return [Scored(c, 0.0, i) for i, c in enumerate(cands)], np.zeros((len(cands), 0), dtype=np.float32)
        cands, X = self.features(question, passages, qvec)
        return rank(self.models, cands, X), X

    def features(self, question: Question, passages: list[Passage], qvec: np.ndarray | None) -> tuple[list, np.ndarray]:
        """The candidate sentences of ``passages`` and their selector features."""
        cands = candidates(question, passages)
        rules = None
        if cands:
            scored = self.extractive.score(question.focus, passages, qvec, question.aliases)
            rules = {(c.passage.chunk_id, c.start): c.score for c in scored}
        sims = None
        if cands and qvec is not None and self._dense_features:
            sims = self._embed_sentences([c.text for c in cands]) @ np.asarray(qvec, dtype=np.float32)
        X = featurize(question, cands, self.extractive.terms_with(question.aliases), self.extractive.idf, rules, sims)
        return cands, X

    def support(self, question: Question, passages: list[Passage]) -> tuple[Support, str, list[str]]:
        """The rule policy's evidence, its reason to refuse ("" to answer), and the parts left
        unanswered. A question in parts is answered when one of its parts can be."""
        lang = question.lang
        focus = " ".join(question.weights) if lang == "en" else question.focus
        parts = question_parts(focus) if lang == "zh" else [focus]
        terms_of, knows = self.extractive.terms_with(question.aliases), self.snapshot.keyword.knows
        found = []
        for i, part in enumerate(parts):
            others = "".join(p for j, p in enumerate(parts) if j != i)
            weights = self.extractive.term_weights(part, others) if lang == "zh" else question.weights
            frame = frame_of(part) if lang == "zh" else question.frame
            support = self.policy.support(weights, passages, terms_of, knows, frame, question.aliases)
            found.append((support, self.policy.refuse(support, lang)))
        answered = next((f for f in found if not f[1]), None)
        if answered is None:
            return (*found[0], [])
        return (*answered, [f"{part.strip()} ({reason})" for part, (_, reason) in zip(parts, found) if reason])

    # --- generate and finish ----------------------------------------------------------

    def answerer(self, request: Request) -> Answerer:
        """The answerer a request asks for: the shared extractive one, or an LLM answerer on
        the request's endpoint."""
        return self.quoting if request.answerer == "extractive" else LLMAnswerer(request.endpoint)

    def _generate(self, retrieval: Retrieval) -> Iterator[str | Answer]:
        started = time.perf_counter()
        answerer = self.answerer(retrieval.prepared.request)
        if not retrieval.decision.answer or not retrieval.passages:
            draft = Draft(refusal(retrieval.question.lang))
            yield draft.text
        else:
            for piece in answerer.generate(retrieval):
                if isinstance(piece, Draft):
                    draft = piece
                else:
                    yield piece
        timings = {**retrieval.timings, "answer": (time.perf_counter() - started) * 1000}
        answer = self._finish(retrieval, draft.text, timings, draft.short)
        if not answer.refused and not answer.checks.numeric_faithful:
            second = answerer.revise(retrieval, answer.checks.unsupported_numbers)
            if second is not None:
                answer = self._finish(retrieval, second.text, timings, second.short)
                answer.notes.insert(0, f"the first {answerer.name} answer had numbers not in the passages; "
                                       "it was asked once more")
        yield answer

    def _finish(self, retrieval: Retrieval, raw: str, timings: dict[str, float], short: str) -> Answer:
        prepared, lang = retrieval.prepared, retrieval.question.lang
        passages = retrieval.passages
        refused_text = refusal(lang)
        refused = not retrieval.decision.answer or not passages or raw.strip().startswith(refused_text)
        checks = Checks(passages_dropped=retrieval.dropped, question_truncated=prepared.truncated)
        if refused:
            text, citations, short = refused_text, [], ""
        else:
            text, checks.repaired_markers = repair_markers(raw.strip())
            text, checks.dropped_markers = drop_invalid(text, len(passages))
            sentences = answer_sentences(text)
            checks.citation_coverage = coverage(sentences)
            citations = resolve(sentences, passages)
            checks.numeric_faithful, checks.unsupported_numbers = numeric_check(sentences, passages)
        timings = dict(timings)
        timings["total"] = (time.perf_counter() - prepared.started) * 1000
        notes = [] if refused else [f"not answered by the passages: {part}" for part in retrieval.unanswered]
        reason = retrieval.decision.reason if not retrieval.decision.answer else (
            "the answerer found no answer in the passages" if refused else "")
        return Answer(
            question=prepared.text, standalone_question=prepared.standalone, text=text, citations=citations,
            refused=refused, passages=passages, checks=checks, timings_ms={k: round(v, 2) for k, v in timings.items()},
            answerer=prepared.request.answerer, lang=lang, refusal_reason=reason, notes=notes, short=short,
            probability=retrieval.decision.probability if self.models is not None else None,
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
