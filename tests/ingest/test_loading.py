"""Loading: encodings, formats, and bad files that are skipped, not fatal."""

from __future__ import annotations

import codecs
import os

import pytest

from ingest.loaders import load_file
from ingest.pipeline import ingest_document, ingest_paths
from ragchat.errors import (
    BinaryFileError,
    DecodeError,
    EmptyDocumentError,
    FileTooLargeError,
    MalformedDocumentError,
    UnreadableFileError,
    UnsupportedFileTypeError,
)
from ragchat.settings import ChunkingSettings, IngestSettings


def _signature(chunks):
    return [(c.text, c.kind, c.heading_path, c.spans, c.n_tokens) for c in chunks]


@pytest.mark.parametrize(
    "encoding, prefix, expected",
    [("gbk", b"", "gbk"), ("gb18030", b"", "gbk"), ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
     ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16")],
)
def test_other_encodings_ingest_identically(tmp_path, report_text, report_chunks, chunking, encoding, prefix, expected):
    path = tmp_path / f"report-{encoding}.txt"
    path.write_bytes(prefix + report_text.encode(encoding))
    doc = load_file(path)
    assert doc.encoding == expected
    assert doc.text == report_text
    assert _signature(ingest_document(doc, chunking)) == _signature(report_chunks)


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name, data, error",
    [
        ("empty.txt", b"", EmptyDocumentError),
        ("blank.md", b"  \n\n \t\n", EmptyDocumentError),
        ("image.txt", bytes(range(256)) * 8, BinaryFileError),
        ("latin.txt", "caf\xe9 na\xefve \xff\xfe\xfd".encode("latin-1")[:-3] + b"\xff\xff\xff", DecodeError),
        ("table.ods", b"PK\x03\x04 not supported", UnsupportedFileTypeError),
        ("table.xlsx", b"PK\x03\x04 truncated zip", MalformedDocumentError),
        ("broken.pdf", b"%PDF-1.7 this is not really a pdf", MalformedDocumentError),
        ("broken.docx", b"PK\x03\x04 truncated zip", MalformedDocumentError),
        ("empty.pdf", b"", EmptyDocumentError),
    ],
)
def test_bad_files_raise_typed_errors_naming_the_file(tmp_path, name, data, error):
    path = _write(tmp_path, name, data)
    with pytest.raises(error) as info:
        load_file(path)
    assert name in str(info.value)


def test_too_large_and_unreadable(tmp_path):
    big = _write(tmp_path, "big.txt", "数据".encode() * 400_000)
    with pytest.raises(FileTooLargeError, match="big.txt"):
        load_file(big, max_bytes=1_000_000)
    with pytest.raises(UnreadableFileError, match="missing.txt"):
        load_file(tmp_path / "missing.txt")


def test_a_batch_skips_bad_files_and_keeps_the_rest(tmp_path, report_text):
    good = tmp_path / "docs"
    (good / "sub").mkdir(parents=True)
    (good / "sub" / "report.txt").write_text(report_text, encoding="utf-8")
    (good / "notes.md").write_text("# 笔记\n\n四平市GDP增长5.3%。\n", encoding="utf-8")
    (good / "empty.txt").write_bytes(b"")
    (good / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (good / "ignored.xyz").write_bytes(b"not an accepted extension")
    (good / ".hidden.txt").write_text("隐藏文件。", encoding="utf-8")
    explicit_bad = _write(tmp_path, "data.ods", b"a,b\n1,2\n")
    result = ingest_paths([good, explicit_bad, tmp_path / "nope"], IngestSettings(), ChunkingSettings())
    assert {os.path.basename(d.source) for d in result.documents} == {"report.txt", "notes.md"}
    reasons = {os.path.basename(s.path): s.error for s in result.skipped}
    assert reasons == {
        "empty.txt": "EmptyDocumentError",
        "binary.txt": "BinaryFileError",
        "data.ods": "UnsupportedFileTypeError",
        "nope": "UnreadableFileError",
    }
    assert any("GDP增长5.3%" in c.text for c in result.chunks)


def test_extension_filter_and_recursion_are_configurable(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "top.md").write_text("顶层文件。", encoding="utf-8")
    (tmp_path / "a" / "deep.txt").write_text("深层文件。", encoding="utf-8")
    only_md = ingest_paths([tmp_path], IngestSettings(extensions=("md",)), ChunkingSettings())
    assert [os.path.basename(d.source) for d in only_md.documents] == ["top.md"]
    flat = ingest_paths([tmp_path], IngestSettings(recursive=False), ChunkingSettings())
    assert [os.path.basename(d.source) for d in flat.documents] == ["top.md"]


def test_markdown_headings_and_lists(tmp_path, chunking):
    path = tmp_path / "guide.md"
    path.write_text(
        "# 指南\n\n## 安装\n\n- 第一步\n- 第二步\n\n安装需要两步。\n\n## Usage\n\nRun the command.\nIt prints a summary.\n",
        encoding="utf-8",
    )
    chunks = ingest_document(load_file(path), chunking)
    install = next(c for c in chunks if "安装需要两步" in c.text)
    assert install.heading_path == ("指南", "安装")
    assert "- 第一步" in install.text  # list items are body, not headings
    usage = next(c for c in chunks if "Run the command" in c.text)
    assert usage.heading_path == ("指南", "Usage")
    assert "Run the command. It prints a summary." in usage.text  # a wrapped English line gets a space


def test_html_is_read_as_text_without_scripts(tmp_path, chunking):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>t</title><style>p{}</style></head><body><h1>四平新闻</h1>"
        "<p>上半年全市GDP增长5.3%。</p><script>alert('x')</script>"
        "<p>&lt;script&gt;这是文字&lt;/script&gt;，不是代码。</p></body></html>",
        encoding="utf-8",
    )
    doc = load_file(path)
    chunks = ingest_document(doc, chunking)
    text = "\n".join(c.text for c in chunks)
    assert "alert" not in text and "p{}" not in text
    assert "<script>这是文字</script>" in text  # escaped markup in a document is kept as text
    assert chunks[0].heading_path == ("四平新闻",)


def test_docx_paragraphs_headings_and_tables(tmp_path, chunking):
    from docx import Document

    document = Document()
    document.add_heading("四平市工作报告", level=1)
    document.add_heading("一、农业", level=2)
    document.add_paragraph("肉牛养殖量达到131.7万头，同比增长13%。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "高标准农田"
    table.rows[0].cells[1].text = "482万亩"
    path = tmp_path / "report.docx"
    document.save(path)
    chunks = ingest_document(load_file(path), chunking)
    cattle = next(c for c in chunks if "131.7万头" in c.text)
    assert cattle.heading_path == ("四平市工作报告", "一、农业")
    assert any("高标准农田 | 482万亩" in c.text for c in chunks)


def test_pdf_text_with_a_sentence_broken_across_pages(tmp_path, chunking):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Annual Report\n\nThe city built 4.82 million mu of farmland. The herd grew to")
    pdf.add_page()
    pdf.multi_cell(0, 8, "1.317 million head of cattle. Exports rose by 11.2%.")
    path = tmp_path / "report.pdf"
    pdf.output(str(path))
    doc = load_file(path)
    assert doc.format == "pdf"
    chunks = ingest_document(doc, chunking)
    text = " ".join(c.text for c in chunks)
    assert "The herd grew to 1.317 million head of cattle." in text
    assert len(doc.pages) == 2 and doc.text[doc.pages[1]:].startswith("1.317 million")
    herd = next(c for c in chunks if "1.317 million" in c.text)
    assert [page for page, _ in herd.metadata["pages"]] == [1, 2]  # the sentence spans both pages
