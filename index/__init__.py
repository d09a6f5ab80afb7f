"""Indexing: embeddings, vector stores and retrieval indexes."""
