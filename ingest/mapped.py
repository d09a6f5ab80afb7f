"""Text that remembers where each character came from.

Cleaning rejoins broken sentences, drops captions from the body and
normalises punctuation. A :class:`MappedText` carries, for every character,
its offset in the original document, so a chunk or a quoted sentence can be
highlighted in the original exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class MappedText:
    text: str
    offsets: np.ndarray  # int64, len(text): original index of each character

    @classmethod
    def from_original(cls, original: str, start: int, end: int) -> "MappedText":
        return cls(original[start:end], np.arange(start, end, dtype=np.int64))

    @classmethod
    def empty(cls) -> "MappedText":
        return cls("", np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, item: slice) -> "MappedText":
        return MappedText(self.text[item], self.offsets[item])

    def __add__(self, other: "MappedText") -> "MappedText":
        return MappedText(self.text + other.text, np.concatenate([self.offsets, other.offsets]))

    @classmethod
    def join(cls, parts: list["MappedText"]) -> "MappedText":
        if not parts:
            return cls.empty()
        return cls("".join(p.text for p in parts), np.concatenate([p.offsets for p in parts]))

    def strip(self) -> "MappedText":
        text = self.text
        left = len(text) - len(text.lstrip())
        right = len(text.rstrip())
        return self[left:right]

    def with_text(self, text: str) -> "MappedText":
        """The same offsets under a 1:1 replacement text (normalisation)."""
        if len(text) != len(self.text):
            raise ValueError("a 1:1 replacement must keep the length")
        return MappedText(text, self.offsets)

    @property
    def start(self) -> int:
        return int(self.offsets[0]) if len(self.offsets) else 0

    @property
    def end(self) -> int:
        return int(self.offsets[-1]) + 1 if len(self.offsets) else 0

    def spans(self) -> tuple[tuple[int, int], ...]:
        """Maximal runs of consecutive original offsets, as (start, end) pairs."""
        if not len(self.offsets):
            return ()
        breaks = np.nonzero(np.diff(self.offsets) != 1)[0] + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(self.offsets)]])
        return tuple(
            (int(self.offsets[s]), int(self.offsets[e - 1]) + 1) for s, e in zip(starts, ends)
        )


def reconstruct(original: str, spans: tuple[tuple[int, int], ...] | list) -> str:
    """The cleaned text that ``spans`` of ``original`` stand for.

    Equal to a chunk's text up to whitespace: a line break joined into a
    sentence reads as a space in the chunk. Used to check offsets and to
    highlight citations.
    """
    from ingest.normalize import normalize_text

    normalised = normalize_text(original)
    return "".join(normalised[s:e] for s, e in spans)


def original_offset(spans: tuple[tuple[int, int], ...] | list, index: int) -> int:
    """The original offset of character ``index`` of a text made of ``spans``
    (one text character per original character, as chunks are)."""
    pos = 0
    for s, e in spans:
        if index < pos + (e - s):
            return s + (index - pos)
        pos += e - s
    raise IndexError(f"index {index} is past the end of the spans")
