"""PDF pages in chunks and citations; scanned PDFs and images through offline OCR;
pypdf's messages captured into the reason a damaged PDF is skipped with."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from ingest.bench_ocr import FONT, char_accuracy, render_pages, save_pdf
from ingest.loaders import load_file
from ingest.pipeline import ingest_document, ingest_paths
from ragchat.errors import MalformedDocumentError
from ragchat.settings import ChunkingSettings, IngestSettings, load_settings

QUESTION = "肉牛养殖量达到多少?"
FIGURE = "131.7万头"


def _page_texts(doc) -> list[str]:
    ends = [*doc.pages[1:], len(doc.text)]
    return [doc.text[s:e] for s, e in zip(doc.pages, ends)]


def _report_pdf(path: Path, report_text: str) -> int:
    """The report as a PDF with a text layer, several pages; returns the page of the figure."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=12)
    pdf.add_page()
    page = 0
    for para in (p.strip() for p in report_text.splitlines()):
        if not para:
            continue
        if FIGURE in para:
            pdf.add_page()  # the figure's paragraph alone at the top of a page
            page = pdf.page_no()
        pdf.multi_cell(0, 7, para)
        pdf.ln(3)
        if FIGURE in para:
            assert pdf.page_no() == page  # the paragraph fits on its page
    pdf.output(str(path))
    assert 1 < page < pdf.page_no()
    return page


def _scan(lines: list[str], size: tuple[int, int] = (1400, 500), font_px: int = 36, at=None):
    """An image of ``lines`` drawn with the CJK font; ``at`` gives each line's (x, y)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(str(FONT), font_px)
    for i, line in enumerate(lines):
        draw.text(at[i] if at else (60, 60 + i * font_px * 2), line, font=face, fill="black")
    return image


# --- pages of a PDF with a text layer ---------------------------------------------------------


def test_pdf_pages_are_kept_and_chunks_know_theirs(tmp_path, report_text, chunking):
    path = tmp_path / "report.pdf"
    figure_page = _report_pdf(path, report_text)
    doc = load_file(path)
    pages = _page_texts(doc)
    assert len(doc.pages) > figure_page and doc.pages[0] == 0
    assert FIGURE in pages[figure_page - 1] and FIGURE not in pages[figure_page - 2]
    chunks = ingest_document(doc, chunking)
    for chunk in chunks:
        first, last = chunk.metadata["pages"][0][0], chunk.metadata["pages"][-1][0]
        assert [p for p, _ in chunk.metadata["pages"]] == list(range(first, last + 1))
        # the chunk's offsets fall inside its pages, which start where the document says
        assert doc.pages[first - 1] <= chunk.start and chunk.end <= (doc.pages[last] if last < len(doc.pages)
                                                                       else len(doc.text))
        assert all(start == doc.pages[p - 1] for p, start in chunk.metadata["pages"])
    cattle = next(c for c in chunks if FIGURE in c.text and c.kind == "body")
    assert cattle.metadata["pages"][0][0] <= figure_page <= cattle.metadata["pages"][-1][0]


def test_cli_prints_the_page_and_json_has_it(tmp_path, report_text):
    path = tmp_path / "report.pdf"
    figure_page = _report_pdf(path, report_text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def ragchat(*args):
        return subprocess.run([sys.executable, "-m", "ragchat", *args], capture_output=True, text=True, env=env,
                              timeout=600)

    added = ragchat("index", "add", str(path))
    assert added.returncode == 0, added.stderr
    text = ragchat("ask", QUESTION)
    assert text.returncode == 0, text.stderr
    assert re.search(rf"\[1\] report\.pdf  p\. {figure_page}\b", text.stdout), text.stdout
    as_json = ragchat("ask", QUESTION, "--json")
    data = json.loads(as_json.stdout[as_json.stdout.index("{"):])
    assert FIGURE in data["answer"]
    cited = next(c for c in data["citations"] if FIGURE in c["quote"])
    assert cited["page"] == figure_page
    assert figure_page in data["retrieved"][0]["pages"] or any(figure_page in r["pages"] for r in data["retrieved"])


def test_a_pdf_indexed_before_pages_were_kept_gains_them_when_added_again(tmp_path):
    from index.models import embeddings_from_settings
    from index.store import MANIFEST, load_snapshot, pointer_name
    from index.update import update_index

    path = tmp_path / "two.pdf"
    _two_page_pdf(path)
    settings = load_settings(home=tmp_path / "home")
    embeddings = embeddings_from_settings(settings)
    update_index(settings.index_dir, settings, embeddings, add=[path])
    assert update_index(settings.index_dir, settings, embeddings, add=[path]).unchanged == [str(path)]
    # an index written before pages were kept: its manifest has no "pages"
    manifest_path = settings.index_dir / pointer_name(settings.index_dir) / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for record in manifest["documents"].values():
        del record["pages"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    old = load_snapshot(settings.index_dir)
    assert [r.pages for r in old.documents.values()] == [()]
    old.close()

    report = update_index(settings.index_dir, settings, embeddings, add=[path])
    assert report.updated == [str(path)]
    new = load_snapshot(settings.index_dir)
    try:
        (record,) = new.documents.values()
        assert len(record.pages) == 2
        assert {p for c in new.chunks for p, _ in c.metadata["pages"]} == {1, 2}
    finally:
        new.close()


# --- OCR: images, scanned and mixed PDFs --------------------------------------------------------


def test_a_png_is_recognised_as_one_page(tmp_path, chunking):
    lines = ["四平市农业发展情况", "全市肉牛养殖量达到131.7万头，同比增长13%。", "累计建成高标准农田482万亩。"]
    path = tmp_path / "scan.png"
    _scan(lines).save(path)
    doc = load_file(path)
    assert doc.format == "image" and doc.pages == (0,)
    flat = "".join(doc.text.split()).replace(",", "，")
    assert "131.7万头" in flat and "482万亩" in flat
    assert flat.index("四平市农业") < flat.index("131.7万头") < flat.index("482万亩")
    chunks = ingest_document(doc, chunking)
    assert chunks and all(c.metadata["pages"] == [[1, 0]] for c in chunks)


def test_two_columns_are_read_column_by_column(tmp_path):
    left = ["左栏第一行文字内容", "左栏第二行文字内容", "左栏第三行文字内容", "左栏第四行文字内容"]
    right = ["右栏第一行文字内容", "右栏第二行文字内容", "右栏第三行文字内容", "右栏第四行文字内容"]
    title = "两栏排版的报纸标题横跨两栏"
    lines = [title] + [x for pair in zip(left, right) for x in pair]
    at = [(300, 40)] + [(60 if i % 2 == 0 else 760, 140 + (i // 2) * 70) for i in range(8)]
    path = tmp_path / "columns.png"
    _scan(lines, size=(1400, 460), at=at).save(path)
    flat = "".join(load_file(path).text.split())
    # the title, then the whole left column, then the right one (drawn line by line, alternating)
    positions = [flat.find(x) for x in ["两栏排版"] + ["左栏第" + n for n in "一二三四"] + ["右栏第" + n for n in "一二三四"]]
    assert all(p >= 0 for p in positions), flat
    assert positions == sorted(positions), flat


@pytest.fixture(scope="module")
def scanned_report(tmp_path_factory, report_path):
    """The report drawn on A4 pages, saved as a PDF of images and indexed with the real index
    and embeddings: (path, the page of the figure, the rendered pages, the index's settings)."""
    from index.models import embeddings_from_settings
    from index.update import update_index

    pages = render_pages(report_path.read_text(encoding="utf-8"), font_size_pt=16)
    figure_page = next(i for i, p in enumerate(pages, 1) if any(FIGURE in line for line in p.lines))
    assert figure_page > 1 and len(pages) > figure_page  # the page is worth checking
    path = save_pdf(pages, tmp_path_factory.mktemp("scan") / "scanned-report.pdf")
    settings = load_settings(home=tmp_path_factory.mktemp("home"))
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[path])
    assert report.added == [str(path)] and not report.skipped
    return path, figure_page, pages, settings


def test_a_scanned_pdf_has_no_text_layer_and_is_recognised(scanned_report):
    from pypdf import PdfReader

    from index.store import load_snapshot

    path, figure_page, pages, settings = scanned_report
    assert not "".join(p.extract_text() or "" for p in PdfReader(path).pages).strip()
    snapshot = load_snapshot(settings.index_dir)
    try:
        (record,) = snapshot.documents.values()
        assert record.encoding == "pdf+ocr" and len(record.pages) == len(pages)
        text = snapshot.document_text(record.doc_id)
    finally:
        snapshot.close()
    texts = [text[s:e] for s, e in zip(record.pages, [*record.pages[1:], len(text)])]
    for page, recognised in zip(pages, texts):
        assert char_accuracy(recognised, page.text) > 0.9
    assert FIGURE in "".join(texts[figure_page - 1].split())


def test_a_scanned_report_is_answered_and_cited_to_its_page(scanned_report):
    from chat.service import AnswerService
    from chat.ui.render import sources_html

    _, figure_page, _, settings = scanned_report
    service = AnswerService.from_settings(settings)
    answer = service.answer(QUESTION)
    assert not answer.refused and FIGURE in answer.text
    citation = next(c for c in answer.citations if FIGURE in c.quote)
    assert citation.page == figure_page
    assert answer.to_dict()["citations"][0]["page"] == answer.citations[0].page
    assert f"p. {figure_page}" in sources_html(answer, 1)


def test_a_pdf_of_text_pages_and_one_scanned_page(tmp_path, chunking, capfd):
    from fpdf import FPDF

    scan = tmp_path / "page2.png"
    _scan(["第二页是扫描件。", "全市新建社区食堂7所，惠及老人一万余人。"], size=(1200, 240)).save(scan)
    pdf = FPDF()
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "第一页有文字层。全市累计建成高标准农田482万亩。")
    pdf.add_page()
    pdf.image(str(scan), x=10, y=10, w=190)
    pdf.add_page()
    pdf.multi_cell(0, 8, "第三页也有文字层。肉牛养殖量达到131.7万头。")
    path = tmp_path / "mixed.pdf"
    pdf.output(str(path))
    doc = load_file(path, progress=True)
    assert "OCR mixed.pdf" in capfd.readouterr().err  # a bar over the one page recognised
    assert doc.encoding == "pdf+ocr" and len(doc.pages) == 3
    first, second, third = ("".join(t.split()).replace(",", "，") for t in _page_texts(doc))
    assert "482万亩" in first and "131.7万头" in third
    assert "社区食堂7所" in second
    chunks = ingest_document(doc, chunking)
    canteen = next(c for c in chunks if "食堂" in c.text)
    assert 2 in [p for p, _ in canteen.metadata["pages"]]


# --- pypdf's messages and damaged streams ----------------------------------------------------------


def _two_page_pdf(path: Path) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("wqy", fname=str(FONT))
    for n in (1, 2):
        pdf.add_page()
        pdf.set_font("wqy", size=14)
        pdf.multi_cell(0, 10, f"第{n}页。肉牛养殖量达到131.7万头，同比增长13%。")
    data = bytes(pdf.output())
    path.write_bytes(data)
    return data


def _damage_page_streams(data: bytes) -> bytes:
    """The PDF with the compressed bytes of every page's content stream overwritten."""
    out = bytearray(data)
    for match in re.finditer(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", data):
        start, length = match.end(), int(match.group(1))
        try:
            text = zlib.decompress(data[start : start + length])
        except zlib.error:
            continue
        if b"Tj" in text or b"TJ" in text:  # a page's content, not a font
            out[start + 4 : start + min(length, 40)] = b"\x00" * (min(length, 40) - 4)
    assert out != bytearray(data)
    return bytes(out)


def test_a_damaged_stream_is_reported_damaged_with_pypdfs_message(tmp_path, capfd):
    good = tmp_path / "good.pdf"
    data = _two_page_pdf(good)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(_damage_page_streams(data))
    with pytest.raises(MalformedDocumentError) as info:
        load_file(bad)
    assert "damaged" in str(info.value) and "decompress" in str(info.value) and "page 1" in str(info.value)
    result = ingest_paths([tmp_path], IngestSettings(), ChunkingSettings())
    assert [Path(d.source).name for d in result.documents] == ["good.pdf"]
    (skipped,) = result.skipped
    assert skipped.error == "MalformedDocumentError" and "decompress" in skipped.reason
    assert capfd.readouterr().err == ""  # pypdf's warnings are in the reason, not on stderr


def test_pypdf_warnings_on_a_repairable_file_are_not_printed(tmp_path, capfd):
    data = _two_page_pdf(tmp_path / "good.pdf")
    shifted = tmp_path / "shifted.pdf"
    # bytes before the header shift every xref offset: pypdf warns and repairs
    shifted.write_bytes(b"\n" * 7 + data)
    doc = load_file(shifted)
    assert "131.7万头" in doc.text and len(doc.pages) == 2
    assert capfd.readouterr().err == ""
