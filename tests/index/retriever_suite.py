"""langchain_tests' standard retriever suite for HybridRetriever, shared by every index backend.

A backend's test subclasses :class:`StandardRetrieverSuite` and sets ``_snapshot`` and
``_embeddings`` on its class from its own index fixture (an autouse fixture named ``_index``).
"""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import RetrieversIntegrationTests

from index.retriever import HybridRetriever


class StandardRetrieverSuite(RetrieversIntegrationTests):
    """The four properties langchain_tests asks for; the index comes from the subclass."""

    _snapshot: Any = None
    _embeddings: Any = None

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        assert self._snapshot is not None, "the subclass's _index fixture sets _snapshot and _embeddings"
        return {"snapshot": self._snapshot, "embeddings": self._embeddings}

    @property
    def retriever_query_example(self) -> str:
        return "上半年全市GDP增长多少?"
