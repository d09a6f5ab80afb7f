"""Property-based tests of the splitter (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from ingest.blocks import parse_blocks
from ingest.mapped import reconstruct
from ingest.split import split_blocks
from ingest.tokens import get_counter
from ragchat.settings import ChunkingSettings

WORDS = ["四平", "高质量", "发展", "项目", "131.7万头", "5.3%", "GDP", "report", "growth", "“梨树模式”", "农田", "建设"]
PUNCT = ["，", "。", "；", "！", "？", "、", ",", ".", " ", "”", "\n", "\n\n", "\n\n\n"]

texts = st.lists(st.sampled_from(WORDS + PUNCT), min_size=1, max_size=300).map("".join)
configs = st.builds(
    lambda size, overlap_frac, min_frac: ChunkingSettings(
        chunk_tokens=size, overlap_tokens=int(size * overlap_frac), min_chunk_tokens=int(size * min_frac),
        outline_tokens=size,
    ),
    st.integers(min_value=16, max_value=120),
    st.floats(min_value=0, max_value=0.9),
    st.floats(min_value=0, max_value=1.0),
)
counter = get_counter("cl100k_base")


def _chunks(text, cfg):
    return split_blocks(parse_blocks(text), text, "doc", "doc.txt", cfg, counter)


def _covered(chunks):
    covered = set()
    for c in chunks:
        for s, e in c.spans:
            covered.update(range(s, e))
    return covered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, configs)
def test_every_chunk_fits_the_budget(text, cfg):
    for chunk in _chunks(text, cfg):
        assert chunk.n_tokens <= (cfg.outline_tokens if chunk.kind == "outline" else cfg.chunk_tokens)
        assert counter.count(chunk.text) == chunk.n_tokens


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, configs)
def test_chunks_cover_the_text_in_order(text, cfg):
    chunks = _chunks(text, cfg)
    # In order: starts never go back, except for overlap, which stays within the previous chunk.
    for before, after in zip(chunks, chunks[1:]):
        assert after.start >= before.start
    # Covered: every letter and digit of the text is in some chunk (or in a heading);
    # runs of punctuation alone are not chunks.
    headings = set()
    for block in parse_blocks(text):
        if block.kind == "heading":
            for s, e in block.spans:
                headings.update(range(s, e))
    covered = _covered(chunks)
    for i, ch in enumerate(text):
        if ch.isalnum():
            assert i in covered or i in headings, (i, ch)
    for chunk in chunks:
        assert re.sub(r"\s+", " ", reconstruct(text, chunk.spans)).strip() == re.sub(r"\s+", " ", chunk.text).strip()


@settings(max_examples=60, deadline=None)
@given(texts, configs)
def test_ids_are_deterministic(text, cfg):
    first, second = _chunks(text, cfg), _chunks(text, cfg)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
