"""Office files: DOCX paragraphs and tables in document order, XLSX sheets and CSV rows with their header."""

from __future__ import annotations

import csv
import io

import pytest

from chat.service import AnswerService
from index.models import embeddings_from_settings
from index.update import build_snapshot
from ingest.loaders import load_file
from ingest.pipeline import ingest_document
from ingest.tables import looks_like_header
from ragchat.settings import load_settings

TITLE, FARMING, INDUSTRY = "四平市上半年工作报告", "一、农业生产", "二、工业发展"


def _docx(path):
    from docx import Document

    document = Document()
    document.add_heading(TITLE, level=1)
    document.add_heading(FARMING, level=2)
    document.add_paragraph("上半年农业生产总体平稳，主要指标见下表。")
    table = document.add_table(rows=4, cols=3)
    for row, values in zip(table.rows, [("指标", "完成量", "同比增长"), ("肉牛饲养量", "131.7万头", "13%"),
                                        ("高标准农田", "482万亩", "6.2%"), ("", "", "")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    merged = table.cell(3, 0).merge(table.cell(3, 2))  # one cell across the last row
    merged.text = "数据来源：市农业农村局"
    document.add_heading(INDUSTRY, level=2)
    document.add_paragraph("规模以上工业增加值增长8.1%，增速居全省第二位。")
    document.save(path)
    return path


def _xlsx(path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "主要经济指标"
    sheet.append(["指标名称", "上半年完成", "同比增长"])
    sheet.append(["地区生产总值", "215.6亿元", 0.053])
    sheet["C2"].number_format = "0.0%"
    sheet.append([])  # an empty row
    sheet.append(["社会消费品零售总额", "98.4亿元", 0.071])
    sheet["C4"].number_format = "0.0%"
    second = book.create_sheet("重点项目")
    second.append(["项目", "投资额（亿元）", "开工日期"])
    second.append(["红嘴经济开发区物流园", 12.5, None])
    book.save(path)
    return path


def _csv(path):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["学校", "新增学位", "备注"])
    writer.writerow(["铁东区实验小学", "1260个", "含扩建; 9月投用"])  # a quoted field holding the delimiter
    writer.writerow(["", "", ""])
    writer.writerow(["铁西区第二中学", "900个", ""])
    path.write_bytes(buffer.getvalue().encode("gbk"))  # decoded like a text file
    return path


def test_a_docx_table_sits_under_the_heading_it_follows(tmp_path, chunking):
    doc = load_file(_docx(tmp_path / "report.docx"))
    chunks = ingest_document(doc, chunking)
    row = next(c for c in chunks if "131.7万头" in c.text)
    assert row.heading_path == (TITLE, FARMING)
    industry = next(c for c in chunks if "8.1%" in c.text)
    assert industry.heading_path == (TITLE, INDUSTRY)
    assert row.end < doc.text.index(INDUSTRY) < industry.start  # in document order
    lines = doc.text.split("\n\n")
    assert "指标: 肉牛饲养量 | 完成量: 131.7万头 | 同比增长: 13%" in lines  # the header names each value
    assert lines.count("指标: 数据来源：市农业农村局") == 1  # a merged cell's text once, under its column
    assert doc.text.count("数据来源") == 1


def test_an_xlsx_has_a_heading_per_sheet_and_a_line_per_row(tmp_path, chunking):
    doc = load_file(_xlsx(tmp_path / "指标.xlsx"))
    assert doc.format == "xlsx"
    assert doc.text.split("\n\n") == [
        "# 主要经济指标",
        "指标名称: 地区生产总值 | 上半年完成: 215.6亿元 | 同比增长: 5.3%",
        "指标名称: 社会消费品零售总额 | 上半年完成: 98.4亿元 | 同比增长: 7.1%",
        "# 重点项目",
        "项目: 红嘴经济开发区物流园 | 投资额（亿元）: 12.5",
    ]
    chunks = ingest_document(doc, chunking)
    retail = next(c for c in chunks if "98.4亿元" in c.text)
    assert retail.heading_path == ("主要经济指标",) and "地区生产总值" in retail.text
    assert next(c for c in chunks if "物流园" in c.text).heading_path == ("重点项目",)


def test_a_csv_is_sniffed_and_decoded_like_a_text_file(tmp_path, chunking):
    doc = load_file(_csv(tmp_path / "学位.csv"))
    assert (doc.format, doc.encoding) == ("csv", "gbk")  # GB18030 within GBK is named gbk (ingest/decode.py)
    assert doc.text.split("\n\n") == [
        "学校: 铁东区实验小学 | 新增学位: 1260个 | 备注: 含扩建; 9月投用",
        "学校: 铁西区第二中学 | 新增学位: 900个",
    ]
    assert len(ingest_document(doc, chunking)) == 1


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> AnswerService:
    folder = tmp_path_factory.mktemp("office")
    docs = [load_file(make(folder / name)) for make, name in
            ((_docx, "report.docx"), (_xlsx, "指标.xlsx"), (_csv, "学位.csv"))]
    settings = load_settings(home=tmp_path_factory.mktemp("office-home"))
    embeddings = embeddings_from_settings(settings)
    return AnswerService(settings, build_snapshot(docs, settings, embeddings), embeddings)


@pytest.mark.parametrize("question, figure, source", [
    ("高标准农田完成了多少万亩?", "482万亩", "report.docx"),
    ("社会消费品零售总额上半年完成多少?", "98.4亿元", "指标.xlsx"),
    ("铁西区第二中学新增多少个学位?", "900个", "学位.csv"),
])
def test_a_question_is_answered_from_a_table_row(service, question, figure, source):
    answer = service.answer(question)
    assert not answer.refused, answer.refusal_reason
    assert figure in answer.text
    cited = [c for c in answer.citations if figure in c.quote]
    assert cited and all(c.source.endswith(source) for c in cited)


@pytest.mark.parametrize("row, header", [
    (["指标", "2023年", "同比增长"], True),
    (["高标准农田", "482万亩"], False),  # a key-value table: its first row is data
    (["指标", "指标"], False),
    (["指标", ""], False),
    (["指标"], False),
])
def test_a_docx_tables_first_row_is_a_header_only_when_it_names_columns(row, header):
    assert looks_like_header(row) is header
