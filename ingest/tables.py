"""Table rows as text: one row a line, cells joined with `` | ``, named by the header row.

With a header, a row reads ``地区: 四平 | 肉牛存栏: 131.7万头``: each value keeps its
column's name, so a row retrieved on its own still says what its figures are. ``|``
is not a sentence end (``；`` would be, and would cut a row into pieces), so a row
stays one sentence for the answer selector. Empty cells are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SEP = " | "
_YEAR = re.compile(r"(?:19|20)\d\d年?")


def row_lines(rows: Sequence[Sequence[str]], header: bool) -> list[str]:
    """The text lines of ``rows`` (empty rows skipped). ``header``: the first row names the
    columns of the others, and is not a line of its own."""
    cleaned = [[_one_line(cell) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if header and len(cleaned) >= 2:
        names = cleaned[0]
        return [_named(names, row) for row in cleaned[1:] if any(row)]
    return [SEP.join(cell for cell in row if cell) for row in cleaned]


def looks_like_header(row: Sequence[str]) -> bool:
    """A first row that names columns: two or more cells, all filled, all different, and no
    figures in them (years such as ``2023年`` allowed). For tables that do not say whether
    they have a header (DOCX); a key-value table (``高标准农田 | 482万亩``) has none."""
    cells = [_one_line(cell) for cell in row]
    return (len(cells) >= 2 and all(cells) and len(set(cells)) == len(cells)
            and not any(re.search(r"\d", _YEAR.sub("", cell)) for cell in cells))


def _named(names: Sequence[str], row: Sequence[str]) -> str:
    parts = []
    for i, value in enumerate(row):
        if not value:
            continue
        name = names[i] if i < len(names) else ""
        parts.append(f"{name}: {value}" if name and name != value else value)
    return SEP.join(parts)


def _one_line(cell: str) -> str:
    return " ".join(cell.split())
