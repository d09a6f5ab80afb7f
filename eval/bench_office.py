"""Benchmark: how fast DOCX, XLSX and CSV files are read and chunked.

    python -m eval.bench_office [--rows 20000] [--rounds 3]

Builds the files in a temporary folder: a DOCX of the bundled report's paragraphs with a
10-row table after every 10th paragraph, and an XLSX and a CSV of ``--rows`` rows of 6
columns (Chinese header). Reports the best of ``--rounds`` runs of ``load_file`` and of
``ingest_document``. One run on this machine; figures vary with its load, so no test
asserts them.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from ragchat.bench import best_of

HEADER = ["地区", "指标", "2023年", "2024年", "同比增长", "备注"]


def _rows(n: int) -> list[list[object]]:
    return [[f"第{i % 37}区", f"指标{i}", 100 + i, round(101.5 + i * 1.1, 1), f"{i % 9}.{i % 7}%", "按可比价格计算"]
            for i in range(n)]


def _docx(path: Path, paragraphs: list[str]) -> int:
    from docx import Document

    document = Document()
    tables = 0
    for i, para in enumerate(paragraphs):
        document.add_paragraph(para)
        if i % 10 == 9:
            table = document.add_table(rows=11, cols=len(HEADER))
            for row, values in zip(table.rows, [HEADER, *_rows(10)]):
                for cell, value in zip(row.cells, values):
                    cell.text = str(value)
            tables += 1
    document.save(path)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from openpyxl import Workbook

    from ingest.loaders import load_file
    from ingest.pipeline import ingest_document
    from ragchat.paths import bundled_report
    from ragchat.settings import ChunkingSettings

    chunking = ChunkingSettings()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paragraphs = [p.strip() for p in bundled_report().read_text(encoding="utf-8").split("\n\n") if p.strip()]
        tables = _docx(folder / "report.docx", paragraphs)
        book = Workbook(write_only=True)
        sheet = book.create_sheet("数据")
        for row in [HEADER, *_rows(args.rows)]:
            sheet.append(row)
        book.save(folder / "rows.xlsx")
        with (folder / "rows.csv").open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([HEADER, *_rows(args.rows)])
        print("| file | content | size | load | chunk | chunks |")
        print("|---|---|---:|---:|---:|---:|")
        contents = {"report.docx": f"{len(paragraphs)} paragraphs, {tables} tables of 10 rows",
                    "rows.xlsx": f"{args.rows} rows x 6", "rows.csv": f"{args.rows} rows x 6"}
        for name, content in contents.items():
            path = folder / name
            load_s, doc = best_of(args.rounds, lambda: load_file(path))
            chunk_s, chunks = best_of(args.rounds, lambda: ingest_document(doc, chunking))
            print(f"| {name} | {content} | {path.stat().st_size / 1024:.0f} KiB | {load_s:.2f} s "
                  f"| {chunk_s:.2f} s | {len(chunks)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
