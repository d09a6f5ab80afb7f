"""HTML and Markdown of answers, sources, warnings and documents, escaped.

Pure functions. Every piece of document text and every file name goes
through :func:`html.escape` before it becomes HTML; a quoted sentence is
highlighted by ``<mark>`` around its escaped text. A citation marker ``[n]``
of answer ``turn`` links to ``#src-<turn>-<n>``, the id of its source card.
The words around them come from :mod:`chat.ui.i18n`, in the ``lang`` given (English by default).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from chat.types import Answer, Passage
from chat.ui.i18n import EN, text

_MARKER = re.compile(r"\[(\d{1,3})\]")
# ASCII punctuation that Markdown (or the chatbot's LaTeX) would interpret; escaped with "\".
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$:])")


def source_id(turn: int, n: int) -> str:
    """The HTML id of the source card of passage ``n`` in answer ``turn``."""
    return f"src-{turn}-{n}"


def markdown_text(text: str) -> str:
    """Plain text as Markdown that shows literally: HTML escaped, Markdown syntax escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def answer_markdown(text: str, turn: int, n_passages: int) -> str:
    """An answer's text for the chatbot: shown literally, each valid ``[n]`` a link to its source."""
    out: list[str] = []
    pos = 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        if not 1 <= n <= n_passages:
            continue
        out.append(markdown_text(text[pos : match.start()]))
        out.append(f'<a class="cite" href="#{source_id(turn, n)}" data-n="{n}">[{n}]</a>')
        pos = match.end()
    out.append(markdown_text(text[pos:]))
    return "".join(out)


def answer_message(answer: Answer, turn: int) -> str:
    """The chatbot message of a finished answer: the short answer in bold, the text with linked
    markers, then its warnings."""
    if answer.refused:
        body = markdown_text(answer.text)
        if answer.refusal_reason:
            body += "\n\n*" + markdown_text(f"({answer.refusal_reason})") + "*"
        return body
    body = answer_markdown(answer.text, turn, len(answer.passages))
    if answer.short:  # the asked-for figure or name, in bold above the cited sentences
        body = f"**{markdown_text(answer.short)}**\n\n" + body
    for warning in warnings_of(answer):
        body += "\n\n⚠ " + markdown_text(warning)
    return body


def warnings_of(answer: Answer) -> list[str]:
    """What the user should know about an answer: failed checks, dropped citations, truncation, notes."""
    return list(answer.checks.warnings) + list(answer.notes)


def warnings_html(messages: Sequence[str], lang: str = EN) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{html.escape(m)}</li>" for m in messages)
    return f'<div class="rc-warnings" role="alert"><strong>{text(lang, "warnings")}</strong><ul>{items}</ul></div>'


def highlight(text: str, quotes: Iterable[str]) -> str:
    """``text`` escaped, with every occurrence of each quote wrapped in ``<mark>``."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        quote = quote.strip()
        if not quote:
            continue
        start = text.find(quote)
        while start >= 0:
            spans.append((start, start + len(quote)))
            start = text.find(quote, start + len(quote))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def page_label(pages: Sequence[int], lang: str = EN) -> str:
    """``p. 7``, ``pp. 7–8`` for a run, ``pp. 3, 7`` otherwise (``第 7 页``… in Chinese); empty without pages."""
    pages = sorted(set(pages))
    if not pages:
        return ""
    if len(pages) == 1:
        return text(lang, "page", page=pages[0])
    if pages == list(range(pages[0], pages[-1] + 1)):
        return text(lang, "pages", pages=f"{pages[0]}–{pages[-1]}")
    return text(lang, "pages", pages=", ".join(map(str, pages)))


def _card(passage: Passage, turn: int, quotes: Sequence[str], cited: bool, pages: Sequence[int] = (),
          lang: str = EN) -> str:
    """``pages``: where the cited quotes are; the passage's own pages when none are given."""
    heading = " › ".join(passage.heading)
    name = Path(passage.source).name
    label = f"[{passage.n}]" if cited else f"({passage.n})"
    page = page_label(pages or [p for p, _ in passage.pages], lang)
    return (
        f'<div class="rc-source{" rc-cited" if cited else ""}" id="{source_id(turn, passage.n) if cited else ""}">'
        f'<div class="rc-source-head"><span class="rc-n">{label}</span> '
        f'<span class="rc-file" title="{html.escape(passage.source)}">{html.escape(name)}</span>'
        + (f'<span class="rc-page">{page}</span>' if page else "") +
        f'<span class="rc-score">{_score(passage, lang)}</span></div>'
        f'<div class="rc-heading">{html.escape(heading) or "&nbsp;"}</div>'
        f'<div class="rc-text">{highlight(passage.text, quotes)}</div></div>'
    )


def _score(passage: Passage, lang: str) -> str:
    return text(lang, "score", score=f"{passage.score:.4f}", dense=f"{passage.dense_score:.3f}",
                keyword=f"{passage.keyword_score:.2f}")


def sources_html(answer: Answer, turn: int, lang: str = EN) -> str:
    """The sources of one answer: a card per cited passage (file, heading path, highlighted
    passage, score), then the other retrieved passages folded away."""
    if answer.refused or not answer.citations:
        shown = ""
    else:
        quotes: dict[int, list[str]] = {}
        pages: dict[int, list[int]] = {}
        for citation in answer.citations:
            quotes.setdefault(citation.n, []).append(citation.quote)
            if citation.page is not None:
                pages.setdefault(citation.n, []).append(citation.page)
        by_n = {p.n: p for p in answer.passages}
        shown = "".join(_card(by_n[n], turn, q, cited=True, pages=pages.get(n, ()), lang=lang)
                        for n, q in sorted(quotes.items()) if n in by_n)
    cited = {c.n for c in answer.citations}
    others = [p for p in answer.passages if p.n not in cited]
    rest = ""
    if others:
        rest = (
            f'<details class="rc-others"><summary>{text(lang, "other_passages", n=len(others))}</summary>'
            + "".join(_card(p, turn, (), cited=False, lang=lang) for p in others)
            + "</details>"
        )
    if not shown and not rest:
        return ""
    return f'<section class="rc-answer-sources" data-turn="{turn}">{shown}{rest}</section>'


def sources_panel(turns: Sequence[tuple[int, str, str]], lang: str = EN) -> str:
    """Sources of every answer of the conversation: the latest open, earlier ones folded.

    ``turns``: (turn, question, sources HTML) in conversation order.
    """
    if not turns:
        return f'<div class="rc-empty">{text(lang, "sources_empty")}</div>'
    parts = []
    for i, (turn, question, body) in enumerate(reversed(turns)):
        body = body or f'<div class="rc-empty">{text(lang, "no_citation")}</div>'
        title = text(lang, "answer_title", turn=turn, question=html.escape(question))
        parts.append(f'<details class="rc-turn" data-turn="{turn}"{" open" if i == 0 else ""}>'
                     f"<summary>{title}</summary>{body}</details>")
    return "".join(parts)


def documents_html(rows: Sequence[dict[str, Any]], lang: str = EN) -> str:
    """The document list: name, chunks, size, when indexed."""
    if not rows:
        return f'<div class="rc-empty">{text(lang, "no_documents")}</div>'
    body = "".join(
        "<tr>"
        f'<td title="{html.escape(r["source"])}">{html.escape(Path(r["source"]).name)}</td>'
        f'<td class="num">{r["n_chunks"]}</td>'
        f'<td class="num">{text(lang, "chars", n=format(r["n_chars"], ","))}{_size(r.get("bytes"))}</td>'
        f"<td>{html.escape(r['indexed_at'])}</td>"
        f'<td><code>{html.escape(r["doc_id"])}</code></td>'
        "</tr>"
        for r in rows
    )
    head = "".join(f"<th>{text(lang, key)}</th>" for key in _COLUMNS)
    return f'<table class="rc-docs"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_COLUMNS = ("col_document", "col_chunks", "col_size", "col_indexed", "col_id")


def not_indexed_html(names: Sequence[str], lang: str = EN) -> str:
    """The files of the documents folder that the index does not hold, or nothing."""
    if not names:
        return ""
    items = "".join(f"<li>{html.escape(name)}</li>" for name in names)
    return f'<div class="rc-not-indexed">{text(lang, "not_indexed")}<ul>{items}</ul></div>'


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return ""
    if n_bytes >= 2**20:
        return f" · {n_bytes / 2**20:.1f} MiB"
    return f" · {n_bytes / 2**10:.1f} KiB"


_UPDATE_KEYS = ("added", "updated", "unchanged", "removed")  # also the words for them in chat.ui.i18n


def update_html(result: dict[str, Any], lang: str = EN) -> str:
    """The outcome of an upload or removal: added, updated, unchanged, removed, skipped with reasons."""
    parts = []
    for key in _UPDATE_KEYS:
        names = result.get(key) or []
        if names:
            items = ", ".join(html.escape(Path(n).name) for n in names)
            parts.append(f"<li><strong>{text(lang, key)}</strong> ({len(names)}): {items}</li>")
    skipped = result.get("skipped") or []
    if skipped:
        items = "".join(
            f"<li>{html.escape(Path(s['file']).name)}: {html.escape(s['reason'])}</li>" for s in skipped
        )
        parts.append(f'<li class="rc-skipped"><strong>{text(lang, "skipped")}</strong> ({len(skipped)}):'
                     f"<ul>{items}</ul></li>")
    if not parts:
        parts.append(f"<li>{text(lang, 'nothing_changed')}</li>")
    tail = ""
    if "n_documents" in result:
        note = text(lang, "index_note", documents=result["n_documents"], chunks=result["n_chunks"],
                    seconds=f'{result.get("seconds", 0):.1f}')
        tail = f'<div class="rc-note">{note}</div>'
    return f'<ul class="rc-update">{"".join(parts)}</ul>{tail}'
