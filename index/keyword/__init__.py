"""Keyword (BM25) retrieval: a Chinese-aware tokenizer and a persisted bm25s index."""
