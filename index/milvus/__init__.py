"""Milvus as the index backend (``index.backend = "milvus"``): see docs/scale.md.

Nothing here is imported on the default FAISS path, so pymilvus stays optional.
"""
