"""A saved web page to text: its main content only, through trafilatura.

Navigation bars, sidebars, recommended-article lists and copyright footers are
left out. Headings become Markdown-style ``#`` lines, list items and table rows
lines of their own, as :mod:`ingest.html_text` makes them. A fragment (no
``<html>`` or ``<body>``), or a page where trafilatura finds no main content,
goes through :func:`ingest.html_text.html_to_text` instead: all its text is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.html_text import html_to_text

_WHOLE_PAGE = re.compile(r"<(?:html|body)[\s>]", re.IGNORECASE)
# trafilatura's least main content before it falls back to the whole page's text,
# navigation included (its default is 250 characters): a short news item is
# still only its content.
_MIN_EXTRACTED_CHARS = 1


@lru_cache(maxsize=1)
def _config():
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(_MIN_EXTRACTED_CHARS))
    return config


def web_page_text(html: str) -> str:
    """The main content of a page as text; the whole text of a fragment."""
    if not _WHOLE_PAGE.search(html):
        return html_to_text(html)
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    xml = trafilatura.extract(html, output_format="xml", include_comments=False, include_tables=True,
                              include_formatting=False, include_links=False, include_images=False,
                              config=_config())
    main = etree.fromstring(xml.encode("utf-8")).find("main") if xml else None
    blocks = _blocks(main) if main is not None else []
    if not blocks:
        return html_to_text(html)
    # trafilatura takes an <h1> outside the article for the page's title and leaves it
    # out of the body: it is kept as the top heading, which the chunks' heading paths start from.
    title = _flat(h1) if (h1 := lxml_html.fromstring(html).find(".//h1")) is not None else ""
    if title and not blocks[0].startswith("#") and title not in "\n".join(blocks):
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks)


def _blocks(element) -> list[str]:
    """The text blocks of trafilatura's XML (``head``, ``p``, ``list/item``, ``table/row/cell``...)."""
    blocks: list[str] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            level = (child.get("rend") or "h2")[1:]
            blocks.append("#" * int(level if level.isdigit() else 2) + " " + _flat(child))
        elif tag == "list":
            blocks += [_flat(item) for item in child.findall("item")]
        elif tag == "table":
            blocks += [" | ".join(_flat(cell) for cell in row.findall("cell")) for row in child.findall("row")]
        else:
            blocks.append(_flat(child))
    return [b for b in blocks if b.strip(" |#")]


def _flat(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()
