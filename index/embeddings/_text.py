"""Checks and clean-up of the texts handed to an embeddings model."""

from __future__ import annotations

from collections.abc import Sequence

from ragchat.errors import EmbeddingError


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list after checking every item is a ``str``.

    A bare string is refused: iterating it would embed single characters.
    """
    if isinstance(texts, (str, bytes)):
        raise EmbeddingError(
            "embed_documents expects a list of strings, got a single string; "
            "wrap it in a list or call embed_query"
        )
    items = list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise EmbeddingError(
                f"text #{position} is {type(text).__name__}, not str; "
                "convert every text to str before embedding"
            )
    return items


def check_query(text: str) -> str:
    """Return ``text`` after checking it is a ``str``."""
    if not isinstance(text, str):
        raise EmbeddingError(
            f"embed_query expects a str, got {type(text).__name__}; pass the query text itself"
        )
    return text


def clean_text(text: str) -> str:
    """Make ``text`` safe for a model that takes UTF-8 C strings.

    NUL characters would end the C string early (everything after one would be
    silently dropped), so they become spaces; lone surrogates cannot be encoded
    as UTF-8, so they become U+FFFD. Everything else is left exactly as it is.
    """
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text
