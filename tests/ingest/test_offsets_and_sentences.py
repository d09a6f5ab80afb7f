"""Chunks map back to the original text and end at sentence ends."""

from __future__ import annotations

import re

from ingest.blocks import parse_blocks
from ingest.charclass import ends_sentence
from ingest.mapped import reconstruct
from ingest.sentences import sentence_spans
from ingest.split import block_text
from ingest.tokens import get_counter


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_chunk_maps_back_to_the_original(report_text, report_chunks):
    assert report_chunks
    for chunk in report_chunks:
        assert chunk.start == chunk.spans[0][0] and chunk.end == chunk.spans[-1][1]
        assert _ws(reconstruct(report_text, chunk.spans)) == _ws(chunk.text)
        # Each span, read raw, is the chunk text up to punctuation width.
        assert report_text[chunk.start:chunk.end].startswith(report_text[chunk.spans[0][0]:chunk.spans[0][1]])


def test_a_quoted_sentence_can_be_found_in_the_original(report_text, report_chunks):
    chunk = next(c for c in report_chunks if "7所社区食堂" in c.text)
    i = chunk.text.index("7所社区食堂")
    # Walk the spans to the original offset of that character.
    pos = 0
    for s, e in chunk.spans:
        if pos + (e - s) > i:
            original_at = s + (i - pos)
            break
        pos += e - s
    assert report_text[original_at:original_at + 6] == "7所社区食堂"


def _sentences_in_original(text):
    """(start, end, tokens) of every body sentence, in original offsets."""
    counter = get_counter("cl100k_base")
    result = []
    for block in parse_blocks(text):
        if block.kind != "body":
            continue
        mt = block_text(block)
        for s, e in sentence_spans(mt.text):
            result.append((int(mt.offsets[s]), int(mt.offsets[e - 1]) + 1, counter.count(mt.text[s:e])))
    return result


def test_no_chunk_ends_mid_sentence_unless_the_sentence_is_over_budget(report_text, report_chunks, chunking):
    sentences = _sentences_in_original(report_text)
    for chunk in report_chunks:
        if chunk.kind != "body" or ends_sentence(chunk.text):
            continue
        last = chunk.end - 1
        holder = next(s for s in sentences if s[0] <= last < s[1])
        assert holder[2] > chunking.chunk_tokens, chunk.text


def test_small_budget_splits_long_sentences_at_commas(report_doc):
    from ingest.pipeline import ingest_document
    from ragchat.settings import ChunkingSettings

    cfg = ChunkingSettings(chunk_tokens=40, overlap_tokens=0, min_chunk_tokens=0)
    chunks = ingest_document(report_doc, cfg)
    assert all(c.n_tokens <= (cfg.outline_tokens if c.kind == "outline" else 40) for c in chunks)
    mid = [c for c in chunks if c.kind == "body" and not ends_sentence(c.text)]
    assert mid, "some sentence of the report is longer than 40 tokens"
    assert sum(c.text.endswith(("，", "、", "：")) for c in mid) >= len(mid) * 0.7


def test_closing_quotes_stay_with_their_sentence():
    text = "他说：“今年要完成任务。”随后散会。What? Yes! 5.3% growth. Done."
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == ["他说：“今年要完成任务。”", "随后散会。", "What?", "Yes!", "5.3% growth.", "Done."]


def test_reingesting_gives_the_same_ids(report_doc, report_chunks, chunking):
    from ingest.pipeline import ingest_document

    again = ingest_document(report_doc, chunking)
    assert [c.id for c in again] == [c.id for c in report_chunks]
    assert len({c.id for c in report_chunks}) == len(report_chunks)
