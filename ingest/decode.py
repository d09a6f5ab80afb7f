"""Bytes to text, in the encodings Chinese text really uses.

A BOM first (UTF-8, UTF-16); UTF-16 without a BOM, told by its NUL bytes (the
high byte of every ASCII character), before the binary check; UTF-8, the fast
path; then GB18030/GBK or Big5, as ``charset-normalizer``
judges them. Big5 bytes nearly always decode as GB18030 too, into mojibake, so
a strict decode cannot choose: the detector measures which reading is text.
Traditional-Chinese text is returned as it is, never converted.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ragchat.errors import BinaryFileError, DecodeError, EmptyDocumentError

_SNIFF = 8192
# Control characters other than tab, newline, carriage return, form feed.
_CONTROL = {c for c in range(32) if c not in (9, 10, 12, 13)}
# The legacy encodings the detector may choose from (Python codec names).
_LEGACY = ("gb18030", "big5")


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding we read."""
    head = data[:_SNIFF]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b in _CONTROL)
    return controls > max(4, len(head) // 50)


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``data`` looks like UTF-16 without a BOM, else None.

    ASCII characters (line ends, digits, spaces) put a NUL at every odd position in
    UTF-16-LE, every even one in UTF-16-BE; the other side of a CJK character is
    rarely NUL. The bytes must also decode strictly."""
    head = data[:_SNIFF]
    if len(data) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) < max(2, len(head) // 100) or min(even, odd) * 4 > max(even, odd):
        return None
    name = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = data.decode(name)
    except UnicodeDecodeError:
        return None
    return None if any(ord(c) in _CONTROL for c in text[:_SNIFF]) else name


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> tuple[str, str]:
    """Decode ``data``; returns (text, encoding name).

    Raises :class:`EmptyDocumentError` for no text, :class:`BinaryFileError`
    for binary data and :class:`DecodeError` when no encoding fits with confidence.
    """
    if not data.strip():
        raise EmptyDocumentError(path)
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise DecodeError(path, f"{name}: {exc.reason} at byte {exc.start}") from None
    name = utf16_without_bom(data)
    if name is not None:
        return data.decode(name), name
    if looks_binary(data):
        raise BinaryFileError(path)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decode_legacy(data, path)


def _decode_legacy(data: bytes, path: Path | str) -> tuple[str, str]:
    """GB18030/GBK or Big5, whichever ``charset-normalizer`` finds is text; a tie is not a choice."""
    from charset_normalizer import from_bytes

    matches = sorted(from_bytes(data, cp_isolation=list(_LEGACY)), key=lambda m: m.percent_chaos)
    if not matches:
        raise DecodeError(path, "no encoding gives text")
    best = matches[0]
    if len(matches) > 1 and matches[1].percent_chaos == best.percent_chaos:
        raise DecodeError(path, f"{best.encoding} and {matches[1].encoding} fit equally well")
    name = best.encoding
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        raise DecodeError(path, f"{name}: {exc.reason} at byte {exc.start}") from None
    return text, "gbk" if name == "gb18030" and _is_gbk(data) else name


def _is_gbk(data: bytes) -> bool:
    """GB18030 bytes that stay within GBK (most such files): named ``gbk``."""
    try:
        data.decode("gbk")
    except UnicodeDecodeError:
        return False
    return True
