"""Turn a follow-up into a standalone question.

Without an LLM a rule carries the scope over from the conversation: a
follow-up such as ``那生态方面呢?`` after ``下半年要推进哪些民生工程?``
keeps the earlier question's time and place (``下半年``) and takes its own
topic (``生态方面``), giving ``下半年生态方面``. With an LLM the condensing
prompt rewrites it, keeping the question's language.
"""

from __future__ import annotations

import re
from typing import Sequence

History = Sequence[tuple[str, str]]  # (role, text), role "user" or "assistant"

_FOLLOW_UP_ZH = re.compile(r"^(?:那么?|那|还有|另外|此外|其中|而|再)|(?:呢|吗)[？?]?$")
_FOLLOW_UP_EN = re.compile(r"^(?:and|what about|how about|and what about|also)\b|\b(?:it|its|they|their|that|those|this)\b", re.I)
_STRIP_ZH = re.compile(r"^(?:那么?|还有|另外|此外|而|再)|(?:呢|吗)?[？?。！!]*$")
_STRIP_EN = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+|^(?:and|also)\s+|[?.!]+$", re.I)
# Scope words kept from the earlier question: times and periods, quoted names, places of the report.
_SCOPE_ZH = re.compile(
    r"(?:\d{4}年(?:\d{1,2}月)?|上半年|下半年|今年|去年|明年|全年|年末|年底|第[一二三四]季度|“[^”]{1,12}”)"
)
_SCOPE_EN = re.compile(r"\b(?:first|second) half(?: of the year)?\b|\b(?:this|last|next) year\b|\b\d{4}\b", re.I)
MAX_FOLLOW_UP_CHARS = 20


def last_user_question(history: History) -> str:
    for role, text in reversed(history):
        if role == "user" and text.strip():
            return text.strip()
    return ""


def is_follow_up(question: str, lang: str) -> bool:
    q = question.strip()
    if lang == "zh":
        return len(q) <= MAX_FOLLOW_UP_CHARS and bool(_FOLLOW_UP_ZH.search(q))
    return len(q.split()) <= 8 and bool(_FOLLOW_UP_EN.search(q))


def condense_by_rule(question: str, history: History, lang: str) -> str:
    """The standalone question, by rule (no model)."""
    previous = last_user_question(history)
    if not previous or not is_follow_up(question, lang):
        return question
    core = follow_up_core(question, lang)
    if lang == "zh":
        scope = [s for s in _SCOPE_ZH.findall(previous) if s not in core]
        return "".join(dict.fromkeys(scope)) + core
    scope = [s for s in _SCOPE_EN.findall(previous) if s.lower() not in core.lower()]
    return (core + (" in the " + ", ".join(dict.fromkeys(scope)) if scope else "")).strip()


def follow_up_core(question: str, lang: str) -> str:
    """A follow-up without its framing words: ``那生态方面呢?`` → ``生态方面``."""
    pattern = _STRIP_ZH if lang == "zh" else _STRIP_EN
    return pattern.sub("", question.strip()) or question


def history_text(history: History, max_turns: int = 6) -> str:
    turns = list(history)[-max_turns:]
    return "\n".join(f"{'用户' if role == 'user' else '助手'}: {text}" for role, text in turns)
