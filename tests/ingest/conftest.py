from __future__ import annotations

import pytest

from ingest.loaders import load_file
from ingest.pipeline import ingest_document
from ragchat.settings import ChunkingSettings


@pytest.fixture(scope="session")
def chunking() -> ChunkingSettings:
    return ChunkingSettings()


@pytest.fixture(scope="session")
def report_doc(report_path):
    return load_file(report_path)


@pytest.fixture(scope="session")
def report_chunks(report_doc, chunking):
    return ingest_document(report_doc, chunking)
