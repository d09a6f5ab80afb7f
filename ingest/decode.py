"""Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK."""

from __future__ import annotations

import codecs
from pathlib import Path

from ragchat.errors import BinaryFileError, DecodeError, EmptyDocumentError

_SNIFF = 8192
# Control characters other than tab, newline, carriage return, form feed.
_CONTROL = {c for c in range(32) if c not in (9, 10, 12, 13)}


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding we read."""
    head = data[:_SNIFF]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b in _CONTROL)
    return controls > max(4, len(head) // 50)


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> tuple[str, str]:
    """Decode ``data``; returns (text, encoding name).

    Raises :class:`EmptyDocumentError` for no text, :class:`BinaryFileError`
    for binary data and :class:`DecodeError` when no encoding fits.
    """
    if not data.strip():
        raise EmptyDocumentError(path)
    if looks_binary(data):
        raise BinaryFileError(path)
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise DecodeError(path, f"{name}: {exc.reason} at byte {exc.start}") from None
    for name in ("utf-8", "gb18030"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise DecodeError(path)
