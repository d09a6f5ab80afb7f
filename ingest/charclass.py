"""Character classes shared by the cleaning and splitting steps."""

from __future__ import annotations

# Sentence ends. ASCII ';' '?' '!' in Chinese text are normalised to full width first.
SENTENCE_END = set("。！？；!?;")
# Closing quotes and brackets that stay with the sentence they close.
CLOSERS = set("”’」』》）)]】〕\"'")
CJK_PUNCT = set("，。、；：？！“”‘’（）《》〈〉「」『』【】〔〕—…·")


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FA1F
        or 0xF900 <= code <= 0xFAFF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
    )


def is_cjk_or_punct(ch: str) -> bool:
    return is_cjk(ch) or ch in CJK_PUNCT


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends at a sentence end, closers allowed after it."""
    stripped = text.rstrip()
    while stripped and stripped[-1] in CLOSERS:
        stripped = stripped[:-1]
    if not stripped:
        return False
    last = stripped[-1]
    if last in SENTENCE_END or last == "…":
        return True
    # An English full stop (not a decimal point or an abbreviation like "e.g").
    return last == "." and len(stripped) > 1 and not stripped[-2].isdigit()
