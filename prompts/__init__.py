"""Prompt templates as files, and the small loader that renders them.

Each prompt has a Chinese and an English variant (``answer_zh.txt``,
``answer_en.txt``), picked by the question's language. Templates use
``{name}`` placeholders; passage text is inserted as quoted data, never as
instructions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=32)
def load(name: str, lang: str) -> str:
    """The template ``<name>_<lang>.txt`` (``en`` when the language has none)."""
    for candidate in (f"{name}_{lang}.txt", f"{name}_en.txt"):
        path = HERE / candidate
        if path.is_file():
            return path.read_text(encoding="utf-8").strip("\n")
    raise FileNotFoundError(f"no prompt template {name!r} in {HERE}")


def refusal(lang: str) -> str:
    """The one fixed sentence used to say that the documents do not answer."""
    return load("refusal", lang)


def quote_passage(n: int, source: str, heading: str, text: str) -> str:
    """A passage as quoted data: numbered, fenced, with any fence inside neutralised."""
    body = text.replace("<<<", "‹‹‹").replace(">>>", "›››")
    return f"[{n}] ({source}{' · ' + heading if heading else ''})\n<<<\n{body}\n>>>"


def render(name: str, lang: str, **values: str) -> str:
    return load(name, lang).format(**values)
