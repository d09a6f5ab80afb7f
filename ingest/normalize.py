"""Character-for-character normalisation, so offsets survive.

- full-width digits, Latin letters and ``％`` become ASCII;
- ASCII punctuation used as Chinese punctuation (next to Chinese text)
  becomes full width: ``,`` → ``，``, ``(`` → ``（``, ``:`` → ``：`` …;
- the ideographic space becomes a plain space.

Numbers keep their ASCII form: ``5.3%``, ``4+3``, ``2023年`` are untouched.
"""

from __future__ import annotations

from ingest.charclass import is_cjk_or_punct

_ASCII_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}


def _width(ch: str) -> str:
    code = ord(ch)
    if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A or ch == "％":
        return chr(code - 0xFEE0)
    if ch == "\u3000":
        return " "
    return ch


def _neighbour(text: str, index: int, step: int) -> str:
    i = index + step
    while 0 <= i < len(text) and text[i] in " \t":
        i += step
    return text[i] if 0 <= i < len(text) else ""


def _paren_pairs(text: str) -> dict[int, int]:
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs[stack.pop()] = i
    return pairs


def _chinese_context(text: str, i: int) -> bool:
    left, right = _neighbour(text, i, -1), _neighbour(text, i, 1)
    if left.isdigit() and right.isdigit():  # 1,000 or 10:30
        return False
    return (bool(left) and is_cjk_or_punct(left)) or (bool(right) and is_cjk_or_punct(right))


def normalize_text(text: str) -> str:
    """Normalise ``text``; the result has the same length."""
    out = [_width(ch) for ch in text]
    pairs = _paren_pairs(text)
    paired = set(pairs) | set(pairs.values())
    for i, ch in enumerate(text):
        if ch in "()" and i not in paired:
            side = _neighbour(text, i, 1 if ch == "(" else -1)
            if side and is_cjk_or_punct(side):
                out[i] = "（" if ch == "(" else "）"
    for open_i, close_i in pairs.items():
        inner = text[open_i + 1 : close_i]
        if any(is_cjk_or_punct(c) for c in inner) or is_cjk_or_punct(_neighbour(text, open_i, -1) or "a"):
            out[open_i], out[close_i] = "（", "）"
    for i, ch in enumerate(text):
        if ch in ",;:?!" and _chinese_context(text, i):
            if ch in "?!" and not is_cjk_or_punct(_neighbour(text, i, -1) or "a"):
                continue
            out[i] = _ASCII_TO_FULL[ch]
    return "".join(out)
