"""OCR accuracy and speed on the bundled report rendered as a scanned PDF.

    python -m ingest.bench_ocr [--pages N] [--dpi DPI]

Draws the report's text with a CJK font onto A4 page images (no text layer),
saves them as a PDF of images, reads it back through the PDF loader (each page
rendered and recognised) and prints the character accuracy of the recognised
text, 1 - edits / length (edits counted by difflib over the normalised texts,
whitespace removed), and the speed in pages per minute of wall time, with the
process's CPU time (the engine uses every core; on a busy machine the CPU time
tells more). docs/ingest.md quotes one run. :func:`render_pages` is also what the tests scan.
"""

from __future__ import annotations

import argparse
import difflib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.normalize import normalize_text

A4_MM = (210, 297)
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@dataclass(frozen=True)
class RenderedPage:
    image: object  # a Pillow image
    lines: tuple[str, ...]  # the text drawn, line by line

    @property
    def text(self) -> str:
        return "".join(self.lines)


def render_pages(text: str, dpi: int = 200, font_size_pt: float = 12.0, font: Path = FONT) -> list[RenderedPage]:
    """``text`` drawn on A4 pages, one paragraph per input line, wrapped to the margins."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    margin = round(20 / 25.4 * dpi)
    face = ImageFont.truetype(str(font), round(font_size_pt / 72 * dpi))
    pitch = round(face.size * 1.6)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines: list[str] = []
    for para in (p.strip() for p in text.splitlines()):
        while para:
            n = len(para)
            while measure.textlength(para[:n], font=face) > width - 2 * margin:
                n -= 1
            lines.append(para[:n])
            para = para[n:]
    per_page = (height - 2 * margin) // pitch
    pages = []
    for first in range(0, len(lines), per_page):
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        page_lines = lines[first : first + per_page]
        for i, line in enumerate(page_lines):
            draw.text((margin, margin + i * pitch), line, font=face, fill=0)
        pages.append(RenderedPage(image, tuple(page_lines)))
    return pages


def save_pdf(pages: list[RenderedPage], path: Path, dpi: int = 200) -> Path:
    """The page images as a PDF of images only: no text layer."""
    first, *rest = [p.image for p in pages]
    first.save(path, save_all=True, append_images=rest, resolution=dpi)
    return path


def char_accuracy(recognised: str, original: str) -> float:
    """1 - edits / length, over the normalised texts without whitespace."""
    a = "".join(normalize_text(original).split())
    b = "".join(normalize_text(recognised).split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return 1 - edits / max(len(a), 1)


def main(argv: list[str] | None = None) -> None:
    from ingest.ocr import _engine
    from ingest.pdf import OCR_DPI, pdf_pages
    from ragchat.paths import bundled_report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages (0: all)")
    parser.add_argument("--dpi", type=int, default=OCR_DPI, help="render scale of the scanned pages for OCR")
    args = parser.parse_args(argv)
    pages = render_pages(bundled_report().read_text(encoding="utf-8"))
    if args.pages:
        pages = pages[: args.pages]
    with tempfile.TemporaryDirectory() as tmp:
        pdf = save_pdf(pages, Path(tmp) / "scan.pdf")
        _engine()  # loading the models is not part of the speed
        started, cpu = time.perf_counter(), time.process_time()
        doc = pdf_pages(pdf.read_bytes(), pdf, progress=True, dpi=args.dpi)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    texts = [doc.text[s:e] for s, e in zip(doc.pages, [*doc.pages[1:], len(doc.text)])]
    for number, (page, text) in enumerate(zip(pages, texts), 1):
        print(f"page {number}: {len(page.text)} characters, accuracy {char_accuracy(text, page.text):.4f}")
    total = char_accuracy(doc.text, "".join(p.text for p in pages))
    print(f"{len(pages)} pages, {sum(len(p.text) for p in pages)} characters: accuracy {total:.4f}, "
          f"{seconds:.1f} s, {len(pages) / seconds * 60:.2f} pages/minute; "
          f"CPU {cpu:.1f} s, {cpu / len(pages):.1f} CPU s/page, at {args.dpi} dpi")


if __name__ == "__main__":
    main()
