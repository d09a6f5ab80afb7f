"""Bad files never abort a batch: any failure inside a loader skips that file with a one-line
reason naming the file and the format (library warnings included), in the library, the CLI
(``ragchat ingest``, ``ragchat index add``) and the UI's uploads."""

from __future__ import annotations

import csv
import logging
import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import load_file
from ingest.pipeline import ingest_paths
from ragchat.errors import MalformedDocumentError
from ragchat.settings import ChunkingSettings, IngestSettings

# A defined name for a sheet that does not exist: openpyxl warns, then reads on.
_STRAY_NAME = b'<definedNames><definedName name="x" localSheetId="5">Sheet!$A$1</definedName></definedNames>'


def _good_docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.add_heading("工业发展", level=1)
    document.add_paragraph("规模以上工业增加值增长8.1%。")
    document.save(path)
    return path


def _rewrite_zip(source: Path, target: Path, change) -> Path:
    """A copy of the zip ``source`` with each member's bytes through ``change`` (None: left out)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info, data)
    return target


def _broken_docx(path: Path) -> Path:
    good = _good_docx(path.with_name("src-" + path.name))
    return _rewrite_zip(good, path, lambda n, d: d[: len(d) // 2] if n == "word/document.xml" else d)


def _docx_without_body(path: Path) -> Path:
    good = _good_docx(path.with_name("src-" + path.name))
    return _rewrite_zip(good, path, lambda n, d: None if n == "word/document.xml" else d)


def _xlsx(path: Path, break_sheet: bool) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["指标", "数值"])
    book.active.append(["地区生产总值", "215.6亿元"])
    source = path.with_name("src-" + path.name)
    book.save(source)

    def change(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return data.replace(b"</workbook>", _STRAY_NAME + b"</workbook>")
        if name == "xl/worksheets/sheet1.xml" and break_sheet:
            return data[: len(data) // 2]
        return data

    return _rewrite_zip(source, path, change)


def _csv_with_a_huge_field(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["说明", "数值"], ["很长" * (csv.field_size_limit() // 2 + 1), "1"]])
    return path


@pytest.mark.parametrize("make, name, expected", [
    (_broken_docx, "broken.docx", r"DOCX: XMLSyntaxError: "),
    (_docx_without_body, "nobody.docx", r"DOCX: KeyError: .*word/document\.xml"),
    (lambda p: _xlsx(p, break_sheet=True), "broken.xlsx",
     r"XLSX: ParseError: .*; UserWarning: Defined names for sheet index 5 cannot be located"),
    (_csv_with_a_huge_field, "huge.csv", r"CSV: Error: field larger than field limit"),
])
def test_any_failure_in_a_loader_is_a_malformed_document(tmp_path, make, name, expected):
    path = make(tmp_path / name)
    with pytest.raises(MalformedDocumentError) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: the file is malformed (") and "\n" not in message
    assert re.search(expected, message), message


def test_library_warnings_and_logs_of_a_file_that_loads_are_not_passed_on(tmp_path, caplog):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Industrial output grew 8.1%.")
    data = bytes(pdf.output())
    tail = data.rindex(b"startxref")
    (tmp_path / "xref.pdf").write_bytes(data[:tail] + re.sub(rb"startxref\s+\d+", b"startxref\n123", data[tail:]))
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        workbook = load_file(_xlsx(tmp_path / "stray-name.xlsx", break_sheet=False))  # openpyxl warns
        pdf_doc = load_file(tmp_path / "xref.pdf")  # pypdf logs "incorrect startxref pointer"
    assert "215.6亿元" in workbook.text and "8.1%" in pdf_doc.text
    assert [str(w.message) for w in seen] == [] and caplog.records == []


def test_a_batch_goes_on_past_a_damaged_file(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    good = _good_docx(folder / "good.docx")
    _broken_docx(folder / "bad.docx")
    for source in folder.glob("src-*"):
        source.unlink()
    result = ingest_paths([folder], IngestSettings(), ChunkingSettings())
    assert [d.source for d in result.documents] == [str(good.resolve())]
    assert [(Path(s.path).name, s.error) for s in result.skipped] == [("bad.docx", "MalformedDocumentError")]


def _ragchat(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAGCHAT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "ragchat", *args], capture_output=True, text=True, timeout=600,
                          env=env)


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    _good_docx(folder / "good.docx")
    _broken_docx(folder / "bad.docx")
    _xlsx(folder / "bad.xlsx", break_sheet=True)
    for source in folder.glob("src-*"):
        source.unlink()
    return folder


def _check_skipped_lines(stderr: str, folder: Path) -> None:
    assert "Traceback" not in stderr
    skipped = [line for line in stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 2, stderr
    by_file = {Path(line.split(": ")[1]).name: line for line in skipped}
    assert set(by_file) == {"bad.docx", "bad.xlsx"}
    assert "DOCX: XMLSyntaxError" in by_file["bad.docx"]
    assert "XLSX: ParseError" in by_file["bad.xlsx"] and "Defined names for sheet index 5" in by_file["bad.xlsx"]
    others = [line for line in stderr.splitlines() if "Defined names" in line and not line.startswith("skipped: ")]
    assert others == []  # the library's warning is in the reason only, not printed


def test_the_cli_index_add_skips_the_damaged_files_and_indexes_the_good_one(mixed_folder, tmp_path):
    home = tmp_path / "home"
    proc = _ragchat("index", "add", str(mixed_folder), "--index-dir", str(home / "index"), home=home)
    assert proc.returncode == 3, proc.stderr
    _check_skipped_lines(proc.stderr, mixed_folder)
    assert "added: 1 " in proc.stdout and "skipped: 2" in proc.stdout
    status = _ragchat("index", "status", "--index-dir", str(home / "index"), home=home)
    assert "good.docx" in status.stdout and "bad.docx" not in status.stdout


def test_the_cli_ingest_skips_the_damaged_files(mixed_folder, tmp_path):
    proc = _ragchat("ingest", str(mixed_folder), "--no-progress", home=tmp_path / "home")
    assert proc.returncode == 3, proc.stderr
    _check_skipped_lines(proc.stderr, mixed_folder)
    assert proc.stdout.startswith("documents: 1 ")


def test_an_upload_lists_the_damaged_file_as_skipped_and_keeps_no_orphan(tmp_path):
    from chat.ui.documents import Library, Upload
    from ragchat.settings import load_settings

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    good, bad = _good_docx(uploads / "good.docx"), _broken_docx(uploads / "bad.docx")
    settings = load_settings(home=tmp_path / "home")
    library = Library(settings)
    library.start()
    library.wait(timeout=600)
    result = library.add([Upload(bad, "报告.docx"), Upload(good, "工业.docx")])
    assert result.added == ["工业.docx"]
    assert [s["file"] for s in result.skipped] == ["报告.docx"]
    reason = result.skipped[0]["reason"]
    assert "malformed" in reason and "DOCX: XMLSyntaxError" in reason and str(tmp_path) not in reason
    assert sorted(p.name for p in settings.documents_dir.iterdir()) == ["工业.docx"]  # no orphan, no staging copy
    assert any("8.1%" in p.text for p in library.service.answer("规模以上工业增加值增长多少?").passages)
