"""Split cleaned blocks into chunks that fit a token budget.

Chunks are packed from whole sentences and stay inside one heading section.
A chunk ends inside a sentence only when that one sentence is over budget;
then the sentence is cut after ，、： and, failing that, by tokens.
Paragraph ends are soft boundaries: a chunk closes there once it holds
``min_chunk_tokens``. Overlap repeats whole trailing sentences of the same
paragraph, up to ``overlap_tokens``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ingest.mapped import MappedText
from ingest.sentences import clause_spans, sentence_spans
from ingest.tokens import TokenCounter
from ingest.types import Block, Chunk, ChunkKind, chunk_id
from ragchat.settings import ChunkingSettings


@dataclass(frozen=True)
class _Unit:
    para: int  # index of the paragraph within its section
    start: int  # character range within the paragraph's text
    end: int


def block_text(block: Block) -> MappedText:
    offsets = np.concatenate([np.arange(s, e, dtype=np.int64) for s, e in block.spans])
    return MappedText(block.text, offsets)


def _fit(text: str, start: int, end: int, counter: TokenCounter, budget: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into ranges that fit ``budget``: at clauses, then by tokens."""
    if counter.count(text[start:end]) <= budget:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    clauses = [(start + s, start + e) for s, e in clause_spans(text[start:end])]
    if len(clauses) <= 1:
        pos = start
        while pos < end:
            n = counter.longest_prefix(text[pos:end], budget)
            pieces.append((pos, pos + n))
            pos += n
        return pieces
    cur_start, cur_end = clauses[0][0], clauses[0][0]
    for c_start, c_end in clauses:
        if cur_end > cur_start and counter.count(text[cur_start:c_end]) > budget:
            pieces += _fit(text, cur_start, cur_end, counter, budget)
            cur_start = c_start
        cur_end = c_end
    pieces += _fit(text, cur_start, cur_end, counter, budget)
    return pieces


class _Section:
    """The body paragraphs under one heading, and how to render unit runs."""

    def __init__(self, paras: list[MappedText], original: str) -> None:
        self.paras = paras
        self.original = original

    def render(self, units: list[_Unit]) -> MappedText:
        parts: list[MappedText] = []
        i = 0
        while i < len(units):
            j = i
            while j + 1 < len(units) and units[j + 1].para == units[i].para:
                j += 1
            para = self.paras[units[i].para]
            if parts:
                parts.append(self._newline_after(parts[-1]))
            parts.append(para[units[i].start : units[j].end])
            i = j + 1
        return MappedText.join(parts)

    def _newline_after(self, previous: MappedText) -> MappedText:
        end = previous.end
        newline = self.original.find("\n", end)
        return MappedText("\n", np.array([newline if newline != -1 else end - 1], dtype=np.int64))


def _pack(section: _Section, units: list[_Unit], counter: TokenCounter, cfg: ChunkingSettings) -> list[list[_Unit]]:
    def tokens(run: list[_Unit]) -> int:
        return counter.count(section.render(run).text)

    runs: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in units:
        if current and unit.para != current[-1].para and tokens(current) >= cfg.min_chunk_tokens:
            runs.append(current)
            current = []
        if not current or tokens(current + [unit]) <= cfg.chunk_tokens:
            current = current + [unit]
            continue
        runs.append(current)
        tail: list[_Unit] = []
        for previous in reversed(current):
            candidate = [previous] + tail
            if previous.para != unit.para or tokens(candidate) > cfg.overlap_tokens:
                break
            if tokens(candidate + [unit]) > cfg.chunk_tokens:
                break
            tail = candidate
        current = tail + [unit]
    if current:
        runs.append(current)
    return runs


def _units(paras: list[MappedText], counter: TokenCounter, budget: int) -> list[_Unit]:
    units = []
    for p, para in enumerate(paras):
        for s, e in sentence_spans(para.text):
            units += [_Unit(p, a, b) for a, b in _fit(para.text, s, e, counter, budget)]
    return units


def _sections(blocks: list[Block]) -> Iterable[tuple[ChunkKind, tuple[str, ...], list[Block]]]:
    """Runs of body blocks under the same heading path; each caption alone."""
    body: list[Block] = []
    for block in blocks:
        if block.kind == "body":
            if body and body[-1].heading_path != block.heading_path:
                yield "body", body[0].heading_path, body
                body = []
            body.append(block)
        elif block.kind == "caption":
            yield "caption", block.heading_path, [block]
        elif body:  # a heading closes the section
            yield "body", body[0].heading_path, body
            body = []
    if body:
        yield "body", body[0].heading_path, body


def _heading_style(text: str) -> str:
    if text.startswith(("——", "--", "—")):
        return "dash"
    if re.match(r"^(?:[一二三四五六七八九十百零〇两]+[、．.]|[（(][一二三四五六七八九十]+[）)]|第\S{1,3}[章节部篇]|\d{1,2}[、．.])", text):
        return "numbered"
    return "plain"


def _outline_sections(blocks: list[Block]) -> list[list[Block]]:
    """Sibling headings (same parent, level and numbering style), two or more."""
    groups: dict[tuple, list[Block]] = {}
    for block in blocks:
        if block.kind == "heading":
            key = (block.heading_path, block.level, _heading_style(block.text))
            groups.setdefault(key, []).append(block)
    return [group for group in groups.values() if len(group) >= 2]


LEAD_SENTENCE_CHARS = 14


def _lead_sentence_lists(blocks: list[Block]) -> list[tuple[tuple[str, ...], str, list[MappedText]]]:
    """Paragraphs of one section that each open with a short lead sentence
    (``要强化政治建设引领力。``) list the section's points: they form an outline
    too, introduced by the section's heading."""
    groups: dict[tuple[str, ...], list[MappedText]] = {}
    counts: dict[tuple[str, ...], int] = {}
    for block in blocks:
        if block.kind != "body":
            continue
        counts[block.heading_path] = counts.get(block.heading_path, 0) + 1
        spans = sentence_spans(block.text)
        if spans and len(spans) > 1 and spans[0][1] - spans[0][0] <= LEAD_SENTENCE_CHARS:
            groups.setdefault(block.heading_path, []).append(block_text(block)[spans[0][0] : spans[0][1]])
    return [
        (path, path[-1] if path else "", mts)
        for path, mts in groups.items()
        if len(mts) >= 2 and len(mts) == counts[path]
    ]


def _lead_sentence(blocks: list[Block], first_heading: Block) -> str:
    """The last sentence of body text before a list of headings, which introduces it
    (``主要做了以下5个方面工作。``); indexed with the outline, not part of its text."""
    index = next(i for i, b in enumerate(blocks) if b is first_heading)
    for block in reversed(blocks[:index]):
        if block.kind == "body":
            spans = sentence_spans(block.text)
            return block.text[spans[-1][0]:spans[-1][1]] if spans else ""
        if block.kind == "heading" and block.level < first_heading.level:
            return ""
    return ""


def split_blocks(
    blocks: list[Block],
    original: str,
    doc_id: str,
    source: str,
    cfg: ChunkingSettings,
    counter: TokenCounter,
) -> list[Chunk]:
    """Chunks of a cleaned document, in reading order."""
    if not any(b.kind != "heading" for b in blocks):  # a document of headings only
        blocks = [Block("body", b.text, b.spans, b.heading_path) for b in blocks]
    pieces: list[tuple[ChunkKind, tuple[str, ...], MappedText]] = []
    for kind, path, section_blocks in _sections(blocks):
        section = _Section([block_text(b) for b in section_blocks], original)
        for run in _pack(section, _units(section.paras, counter, cfg.chunk_tokens), counter, cfg):
            pieces.append((kind, path, section.render(run)))
    outline_cfg = cfg.model_copy(update={"chunk_tokens": cfg.outline_tokens, "overlap_tokens": 0, "min_chunk_tokens": cfg.outline_tokens})
    leads: dict[int, str] = {}
    for group in _outline_sections(blocks):
        # Each heading is its own paragraph, so the outline lists one per line.
        section = _Section([block_text(b) for b in group], original)
        units = _units(section.paras, counter, cfg.outline_tokens)
        lead = _lead_sentence(blocks, group[0])
        for run in _pack(section, units, counter, outline_cfg):
            mt = section.render(run)
            leads[mt.start] = lead
            pieces.append(("outline", group[0].heading_path, mt))
    for path, lead, mts in _lead_sentence_lists(blocks):
        section = _Section(mts, original)
        units = _units(section.paras, counter, cfg.outline_tokens)
        for run in _pack(section, units, counter, outline_cfg):
            mt = section.render(run)
            leads[mt.start] = lead
            pieces.append(("outline", path, mt))
    pieces.sort(key=lambda piece: (piece[2].start, piece[0] != "outline"))
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for kind, path, mt in pieces:
        if not any(ch.isalnum() for ch in mt.text):
            continue  # punctuation alone: its vector would match every question
        occurrence = seen.get(mt.text, 0)
        seen[mt.text] = occurrence + 1
        chunks.append(
            Chunk(
                id=chunk_id(doc_id, mt.text, occurrence),
                doc_id=doc_id,
                source=source,
                text=mt.text,
                kind=kind,
                heading_path=path,
                start=mt.start,
                end=mt.end,
                spans=mt.spans(),
                n_tokens=counter.count(mt.text),
                seq=len(chunks),
                metadata={"lead": leads[mt.start]} if kind == "outline" and leads.get(mt.start) else {},
            )
        )
    return chunks
