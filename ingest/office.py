"""Office files to text: DOCX in document order, XLSX sheets and CSV rows one a line.

Tables become rows of text (ingest.tables). Headings are marked up as in Markdown
(``## 一、农业``), so a table sits under the heading it follows and chunking gives
it that heading path. A spreadsheet's first non-empty row is its header; each
sheet of a workbook is a heading of its own.

The extractors let the libraries' own errors through: ``load_file`` turns any
of them into a :class:`MalformedDocumentError` naming the file and the format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.decode import decode_bytes
from ingest.tables import looks_like_header, row_lines
from ragchat.errors import EmptyDocumentError

if TYPE_CHECKING:
    from docx.table import Table

_HEADING_STYLE = re.compile(r"(?:Heading|标题)\s*(\d)")
_SNIFF_CHARS = 16384
_DELIMITERS = ",;\t|"


def docx_text(data: bytes, path: Path) -> tuple[str, str]:
    """Paragraphs and tables in the order of the document (python-docx ``iter_inner_content``)."""
    if not data.strip():
        raise EmptyDocumentError(path)
    from docx import Document as open_docx
    from docx.table import Table

    parts: list[str] = []
    for item in open_docx(io.BytesIO(data)).iter_inner_content():
        if isinstance(item, Table):
            parts += _docx_table_lines(item)
        elif text := item.text.strip():
            parts.append(_heading_mark(item.style.name if item.style is not None else "") + text)
    return "\n\n".join(parts), "docx"


def _heading_mark(style: str | None) -> str:
    match = _HEADING_STYLE.match(style or "")
    if match:
        return "#" * int(match.group(1)) + " "
    return "# " if style == "Title" else ""


def _docx_table_lines(table: Table) -> list[str]:
    # A merged cell is the same <w:tc> in every grid position it covers (across a row and
    # down a column): its text is kept once, where it starts.
    seen: dict[int, Any] = {}  # id -> element, held so that ids are not reused
    rows: list[list[str]] = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            first = id(cell._tc) not in seen
            seen[id(cell._tc)] = cell._tc
            cells.append(cell.text if first else "")
        rows.append(cells)
    return row_lines(rows, header=bool(rows) and looks_like_header(rows[0]))


def xlsx_text(data: bytes, path: Path) -> tuple[str, str]:
    """Each worksheet under its name as a heading, then its rows (the first is the header);
    the values that formulas last computed (``data_only``)."""
    if not data.strip():
        raise EmptyDocumentError(path)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        parts: list[str] = []
        for sheet in book.worksheets:
            rows = [[_cell_text(cell) for cell in row] for row in sheet.iter_rows()]
            lines = row_lines(rows, header=True)
            if lines:
                parts += [f"# {' '.join(sheet.title.split())}", *lines]
    finally:
        book.close()
    return "\n\n".join(parts), "xlsx"


def _cell_text(cell: Any) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if "%" in (getattr(cell, "number_format", None) or ""):
            return f"{_number(round(value * 100, 10))}%"
        return _number(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def csv_text(data: bytes, path: Path) -> tuple[str, str]:
    """Rows of a CSV file (decoded like a text file; delimiter and quoting sniffed), the
    first being the header."""
    text, encoding = decode_bytes(data, path)
    sample = text[:_SNIFF_CHARS]
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        dialect, delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS), None
    except csv.Error:  # the sniffer wants (nearly) every line alike
        dialect, delimiter = csv.excel, _likely_delimiter(sample)
    options = {"delimiter": delimiter} if delimiter else {}
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect, **options))
    return "\n\n".join(row_lines(rows, header=True)), encoding


def _likely_delimiter(sample: str) -> str:
    """The delimiter that cuts the most lines into the same number (2 or more) of fields,
    quotes respected; a comma when none does."""

    def agreeing_lines(delimiter: str) -> int:
        rows = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        widths = [len(row) for row in rows if any(row)]
        common = max(set(widths), key=widths.count, default=1)
        return widths.count(common) if common > 1 else 0

    return max(_DELIMITERS, key=agreeing_lines)
