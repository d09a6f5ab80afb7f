"""The grammar of numbers with units: 131.7万头, 5.3%, 160.53亿元, 12000余人, 三周年, 2023年8月3日.

One vocabulary of units, grouped in families; the magnitudes (万, 亿, …) and the
approximate markers (余, 多); the regex fragments the keyword tokenizer compiles
(:mod:`index.keyword.tokenize`), and :func:`quantities`, the figures of a text
as typed values (used by the answer path, :mod:`chat`). Text is NFKC-normalised
first, so full-width digits and ％ read as ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Every unit, by family. A unit belongs to one family.
FAMILIES: dict[str, tuple[str, ...]] = {
    "percent": ("%", "‰", "个百分点", "百分点", "成"),  # 几成: a share in tenths
    "money": ("元", "人民币", "美元", "欧元", "港元", "日元", "英镑"),
    "weight": ("吨", "千克", "公斤", "克", "斤"),
    "area": ("亩", "公顷", "平方公里", "平方米"),
    "volume": ("立方米",),
    "length": ("公里", "千米", "厘米", "毫米", "米"),
    "energy": ("千瓦时", "千瓦", "兆瓦", "瓦", "度"),
    "people": ("人", "人次", "名", "位"),
    "time": ("年", "月", "日", "号", "天", "周", "小时", "分钟", "秒"),
    "age": ("周岁", "岁"),
    "anniversary": ("周年",),
    "ratio": ("倍",),
    "animals": ("头", "只", "羽", "匹"),
    "plants": ("株", "棵"),
    "counters": tuple(
        "个 项 所 家 户 座 件 条 次 批 处 台 辆 套 架 艘 场 届 期 起 宗 笔 份 张 篇 部 本 册 页 间 栋 幢 层 床 "
        "标箱 标准箱 班 趟 片 块 支 类 种 级 星 棒".split()
    ),
    "score": ("分",),
}
# Counters that count the same kind of thing: 几家 (canteens) is answered by 7所.
COUNTER_GROUPS: tuple[frozenset[str], ...] = (
    frozenset("家 所 座 处 户 个".split()),
    frozenset("项 件 条 批 个".split()),
    frozenset("台 辆 个".split()),
    frozenset({"次"}),
)
COUNTERS: frozenset[str] = frozenset(FAMILIES["counters"])
_FAMILY_OF = {unit: family for family, units in FAMILIES.items() for unit in units}


def _longest_first(units) -> tuple[str, ...]:
    return tuple(sorted(set(units), key=lambda unit: (-len(unit), unit)))


def alternation(units) -> str:
    """A regex alternation of ``units``, longest first (个百分点 before 个)."""
    return "|".join(re.escape(unit) for unit in _longest_first(units))


UNITS: tuple[str, ...] = _longest_first(_FAMILY_OF)
# The units of keyword index version 1: an index on disk was built with exactly these.
INDEX_UNITS: tuple[str, ...] = tuple(u for u in UNITS if u not in ("周年", "棒"))
# The units counted in Chinese numerals (三周年, 两所); 十分 and 一起 are no counts.
CJK_COUNT_UNITS: tuple[str, ...] = _longest_first("周年 个 项 所 家 户 座 件 名 条 次 批 倍 年 天 人".split())

# --- regex fragments ------------------------------------------------------------

MAGNITUDE = "万亿|千亿|百亿|亿|千万|百万|十万|万|千|百"
APPROX = "余|多"
# Digits with optional thousands separators and decimals: 1,000  131.7  12000.
NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
CJK_DIGITS = "一二两三四五六七八九十百千"
MONTH = r"(?:1[0-2]|0?[1-9])"
DAY = r"(?:3[01]|[12]\d|0?[1-9])"
# Dates, with named groups: 2023-08-03 (iy im id), 2023年8月3日 (y m d), 8月3日 (m2 d2).
ISO_DATE = rf"(?P<iso>(?<!\d)(?P<iy>\d{{4}})(?P<sep>[-/.])(?P<im>{MONTH})(?P=sep)(?P<id>{DAY})(?![\d.]))"
YMD_DATE = rf"(?P<ymd>(?<!\d)(?P<y>\d{{4}})年(?P<m>{MONTH})月(?:(?P<d>{DAY})[日号])?)"
MD_DATE = rf"(?P<md>(?<!\d)(?P<m2>{MONTH})月(?P<d2>{DAY})[日号])"
# A sum kept whole: 4+3.
PLUS = r"(?P<plus>(?<![\d.])\d+(?:\+\d+)+(?![\d.]))"

_QUANTITY = re.compile(
    rf"(?<![\d.])(?P<n>{NUMBER})(?:\s*(?P<mag>{MAGNITUDE}))?(?:\s*(?P<approx>{APPROX}))?"
    rf"(?:\s*(?P<unit>{alternation(UNITS)}))?"
)
_CJK_COUNT = re.compile(rf"(?<!第)(?P<n>[{CJK_DIGITS}]+)(?P<mag>万|亿)?(?P<unit>{alternation(CJK_COUNT_UNITS)})")
_LEADING = re.compile(rf"^(?:[\d.]+|[{CJK_DIGITS}]+)(?:{MAGNITUDE})?(?:{APPROX})?")
_CJK_VALUE = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CJK_PLACE = {"十": 10, "百": 100, "千": 1000}


@dataclass(frozen=True)
class Quantity:
    """A figure as written: ``131.7万头`` is value 131.7, magnitude 万, unit 头.

    ``start``/``end`` are offsets in the NFKC form of the text."""

    text: str  # normalised: no thousands separators, no spaces (12000余人)
    value: float
    magnitude: str = ""
    approx: bool = False
    unit: str = ""
    start: int = 0
    end: int = 0

    @property
    def family(self) -> str | None:
        return unit_family(self.unit)


def unit_family(unit: str) -> str | None:
    """The family of ``unit`` (``亿元`` has none: 亿 is a magnitude); None for an unknown unit."""
    return _FAMILY_OF.get(unit)


def answering_units(unit: str) -> frozenset[str]:
    """The units a figure may have to answer a question asking for ``unit``: its family
    (几天 → 年 月 日 …), any counter for 个, the kindred counters for the others (几家 → 7所)."""
    if unit == "个":
        return COUNTERS
    if unit in COUNTERS:
        return frozenset().union(*(g for g in COUNTER_GROUPS if unit in g)) or frozenset({unit})
    family = unit_family(unit)
    return frozenset(FAMILIES[family]) if family else frozenset({unit})


def cjk_value(numeral: str) -> int:
    """三 → 3, 十二 → 12, 两百 → 200, 三千五百 → 3500."""
    total, digit = 0, 0
    for ch in numeral:
        if ch in _CJK_PLACE:
            total += (digit or 1) * _CJK_PLACE[ch]
            digit = 0
        else:
            digit = _CJK_VALUE[ch]
    return total + digit


def _digits(m: re.Match[str]) -> Quantity:
    number, magnitude, approx, unit = m["n"].replace(",", ""), m["mag"] or "", m["approx"] or "", m["unit"] or ""
    return Quantity(number + magnitude + approx + unit, float(number), magnitude, bool(approx), unit, m.start(), m.end())


def quantities(text: str) -> list[Quantity]:
    """The figures of ``text``: digits with magnitude, 余/多 and unit, then counts in
    Chinese numerals (三周年, 两所; not 第三), each group in text order."""
    text = unicodedata.normalize("NFKC", text)
    found = [_digits(m) for m in _QUANTITY.finditer(text)]
    for m in _CJK_COUNT.finditer(text):
        magnitude = m["mag"] or ""
        found.append(Quantity(m.group(0), float(cjk_value(m["n"])), magnitude, False, m["unit"], m.start(), m.end()))
    return found


def quantity_at(text: str) -> Quantity | None:
    """The figure in digits that starts ``text`` (NFKC applied), or None: ``22 人…`` → ``22人``."""
    text = unicodedata.normalize("NFKC", text)
    m = _QUANTITY.match(text)
    return _digits(m) if m else None


def unit_of(figure: str) -> str:
    """The unit of a normalised figure: ``16.27亿元`` → ``元``; ``12000余人`` → ``人``; ``三周年`` → ``周年``."""
    return _LEADING.sub("", figure)
