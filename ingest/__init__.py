"""Ingest: load files, clean them, split them into cited chunks.

Pure functions over text; the only I/O is reading the input files.
"""

from ingest.pipeline import IngestResult, ingest_paths, ingest_document
from ingest.types import Block, Chunk, LoadedDocument

__all__ = ["Block", "Chunk", "IngestResult", "LoadedDocument", "ingest_document", "ingest_paths"]
