"""The grammar of numbers with units: figures, magnitudes, 余/多, units, dates, Chinese-numeral counts."""

from __future__ import annotations

import re

import pytest

from ingest.quantity import (
    CJK_COUNT_UNITS,
    FAMILIES,
    INDEX_UNITS,
    ISO_DATE,
    MD_DATE,
    UNITS,
    YMD_DATE,
    Quantity,
    answering_units,
    cjk_value,
    quantities,
    quantity_at,
    unit_family,
    unit_of,
)


def _texts(text: str) -> list[str]:
    return [q.text for q in quantities(text)]


@pytest.mark.parametrize(
    ("text", "value", "magnitude", "unit"),
    [
        ("肉牛养殖量达到131.7万头", 131.7, "万", "头"),
        ("到位资金160.53亿元", 160.53, "亿", "元"),
        ("总额1.2万亿元", 1.2, "万亿", "元"),
        ("投资3千万元", 3, "千万", "元"),
        ("引进项目42个", 42, "", "个"),
    ],
)
def test_value_magnitude_and_unit(text: str, value: float, magnitude: str, unit: str) -> None:
    (q,) = quantities(text)
    assert (q.value, q.magnitude, q.unit, q.approx) == (value, magnitude, unit, False)


def test_approximate_figures_keep_their_marker() -> None:
    (q,) = quantities("实现城镇新增就业12000余人")
    assert q == Quantity("12000余人", 12000.0, "", True, "人", 8, 15)
    (q,) = quantities("游客1.5万多人次")
    assert (q.text, q.magnitude, q.approx, q.unit) == ("1.5万多人次", "万", True, "人次")


def test_longest_unit_wins() -> None:
    assert _texts("提高2.3个百分点") == ["2.3个百分点"]
    assert _texts("接待游客73.98万人次") == ["73.98万人次"]
    assert _texts("面积12平方公里") == ["12平方公里"]


def test_thousands_separators_and_full_width_digits() -> None:
    assert _texts("1,000人和12,345.6吨") == ["1000人", "12345.6吨"]
    assert _texts("１２,０００余人，增长５.３％") == ["12000余人", "5.3%"]
    assert _texts("2019,2020年") == ["2019", "2020年"]  # a list, not a thousands separator
    (q,) = quantities("１,０００人")
    assert q.value == 1000 and (q.start, q.end) == (0, 6)


def test_dates_give_their_parts_as_figures() -> None:
    assert _texts("2023年8月3日召开") == ["2023年", "8月", "3日"]


@pytest.mark.parametrize(
    ("pattern", "text", "groups"),
    [
        (ISO_DATE, "于2023-08-03召开", {"iy": "2023", "im": "08", "id": "03"}),
        (YMD_DATE, "2023年8月3日", {"y": "2023", "m": "8", "d": "3"}),
        (YMD_DATE, "2023年12月", {"y": "2023", "m": "12", "d": None}),
        (MD_DATE, "8月3号", {"m2": "8", "d2": "3"}),
    ],
)
def test_date_patterns(pattern: str, text: str, groups: dict[str, str | None]) -> None:
    match = re.search(pattern, text)
    assert match is not None
    assert {k: match[k] for k in groups} == groups


def test_date_patterns_reject_impossible_months() -> None:
    assert re.search(ISO_DATE, "2023-13-03") is None
    assert re.search(MD_DATE, "13月3日") is None


def test_chinese_numeral_counts() -> None:
    assert _texts("建党三周年，建成两所学校") == ["三周年", "两所"]
    assert quantities("三周年")[0].value == 3
    assert _texts("第三所学校") == []  # an ordinal is no count
    assert _texts("十分重要，一起努力") == []  # 十分 and 一起 are words
    assert [cjk_value(n) for n in ("三", "十二", "二十", "两百", "三千五百")] == [3, 12, 20, 200, 3500]


def test_figure_at_the_start() -> None:
    found = quantity_at("22 人，移送")
    assert found is not None and found.text == "22人" and found.end == 4
    assert quantity_at("人数22") is None


@pytest.mark.parametrize(
    ("figure", "unit"),
    [("16.27亿元", "元"), ("12000余人", "人"), ("5.3%", "%"), ("三周年", "周年"), ("2.3个百分点", "个百分点"), ("42", "")],
)
def test_unit_of(figure: str, unit: str) -> None:
    assert unit_of(figure) == unit


def test_unit_families() -> None:
    assert unit_family("元") == unit_family("美元") == "money"
    assert unit_family("公斤") == "weight" and unit_family("亩") == "area" and unit_family("米") == "length"
    assert unit_family("人次") == unit_family("名") == "people"
    assert unit_family("%") == unit_family("个百分点") == unit_family("成") == "percent"  # 几成: a share
    assert unit_family("天") == "time" and unit_family("周年") == "anniversary"
    assert unit_family("所") == "counters"
    assert unit_family("亿元") is None  # 亿 is a magnitude, not part of the unit
    assert quantities("肉牛131.7万头")[0].family == "animals"


def test_every_unit_has_one_family() -> None:
    listed = [unit for units in FAMILIES.values() for unit in units]
    assert len(listed) == len(set(listed)) == len(UNITS)
    assert set(CJK_COUNT_UNITS) <= set(UNITS) and set(INDEX_UNITS) < set(UNITS)


def test_units_that_answer_a_question() -> None:
    assert "所" in answering_units("家") and "台" not in answering_units("家")  # 几家 → 7所
    assert answering_units("个") >= {"所", "台", "项"}  # 几个: any counter
    assert answering_units("元") == frozenset(FAMILIES["money"])
    assert answering_units("种") == frozenset({"种"})
    assert answering_units("克拉") == frozenset({"克拉"})  # not in the vocabulary: itself
