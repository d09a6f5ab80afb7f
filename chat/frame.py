"""What kind of answer a Chinese question asks for, and whether a sentence gives it.

A near miss asks about something the report covers, but for an attribute it
never states: ``肉牛养殖贷款的利率是多少`` (the report gives the loans' amount,
not their rate), ``上半年进出口总额是多少亿元`` (it gives the growth, in %).
The nearest sentence then holds most of the question's words and the wrong
number. The frame catches that from the question's grammar alone:

- ``units``: the unit asked for (``多少亿元`` → money; ``几家`` → any counter);
- ``head``: the attribute before ``是/有/为 多少`` (利率, 总量, 装机容量), which the
  answer must name;
- ``change``: a growth question (``增长了多少``), whose answer states a change,
  and the ``subject`` that changed (利用外资);
- ``when``: a date question (``哪一天``) needs a date, ``什么时候`` a time;
- ``done``: a question about what was done (``上半年``, ``已经``), which a
  target (``力争…达到``) does not answer.

A sentence meets the frame when it has all of these (see :func:`unmet`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from chat.text import holds_word, language, numbers, pos_tags
from ingest.quantity import MAGNITUDE, UNITS, alternation, answering_units, unit_of

_QUANTITY = re.compile(r"多少|(?<!哪)几(?!乎)|多大|多长|多高|多久")
_PART = re.compile(r"[？?；;。！!]")
# The unit asked for: 多少亿元 → 元, 几家 → 家; a unit before a magnitude (多少千米, 多少百分点 is no 百 分).
_UNIT = re.compile(rf"^(?:多少|几)(?:{MAGNITUDE})??\s*({alternation(UNITS + ('钱',))})")
# A share is asked for next to the quantity word: 比重是多少, 多大比例, 百分之几, 增速.
_PERCENT = re.compile(r"百分之(?:几|多少)|百分比|(?:比例|比重|增速|增幅|占比|率)(?:是|为|有|达到|达)?了?(?:多少|多大|几)|多大(?:比例|比重)|占.{0,4}(?:多少|多大|几)")
_DAY = re.compile(r"哪一天|哪天|几号|几月几日|哪一日|什么日子")
_TIME = re.compile(r"什么时候|何时|哪年|哪一年|什么时间|哪个月|几月份")
_DONE = re.compile(r"上半年|已经|已|了(?:多少|几)")  # 种了多少亩: what was done
_AIM_ASKED = re.compile(r"目标|计划|打算|力争|争取|预计|准备|还要|还将|将要")
_AIM = re.compile(r"目标|计划|打算|力争|要|将|预计|争取")
_CHANGE = ("增长", "增加", "提高", "下降", "减少", "增速", "增幅")  # 提升 is mostly "upgrade"

# Words that stand before 多少 without naming an attribute of their own.
_FILLER = frozenset("是 有 为 达到 达 约 大约 共 一共 总共 合计 能 要 将 会 可以 还 都 到 放到 分别 目前 现在 大概 究竟 到底".split())
# Heads that say nothing of their own, or (比例, 比重) that the unit asked for already checks.
_GENERIC_HEADS = frozenset("数量 数字 规模 情况 数 总数 总计 多少 人数 个数 比例 比重 占比 百分比 比率".split())
_AIM_HEADS = frozenset("目标 计划 任务".split())
_AIM_WORDS = ("力争", "目标", "计划", "确保", "争取", "要", "达到", "突破")
_TARGET_WORDS = ("力争", "争取", "确保", "目标")
_DATE = re.compile(r"\d+\s*[日号]|[〇一二三四五六七八九十]+[日号]")
_TIME_WORDS = re.compile(r"\d+\s*[年月日]|\d+月\d+号|年底|年末|年初|上半年|下半年|今年|明年|去年|月底|季度")
_YEAR_WORDS = re.compile(r"\d+\s*年(?!\d*[月日])|今年|明年|去年|后年|当年")
_YEAR_ASKED = re.compile(r"哪一?年")
_EXPLICIT_YEAR = re.compile(r"(?:19|20)\d\d\s*年")
_RANK_ASKED = re.compile(r"第几|排名第?几|排第几|位居第几|名次")
_RANK_WORDS = re.compile(r"第[一二三四五六七八九十\d]+|首位|前[三五十]|排名|位居")
# Per-unit modifiers: 人均GDP is not GDP, 每亩投入 is not the total.
_DISTRIBUTIVE = re.compile(r"人均|平均|年均|户均|亩均|每亩|每人|每户")
_CHANGE_WORDS = re.compile(r"增长|增加|提高|提升|下降|减少|增速|增幅|同比|比上年|翻番")


@dataclass(frozen=True)
class Frame:
    units: frozenset[str] = frozenset()
    head: str = ""
    change: bool = False
    subject: str = ""
    when: str = ""  # "day" or "time"
    done: bool = False
    figure: bool = False
    shadows: tuple[str, ...] = ()  # the question's longer words that hold the head
    verbs: tuple[str, ...] = ()  # what-questions: the verbs before 什么 (跑出什么、实现什么)
    item: str = ""  # which-questions: the kind of item asked for (哪些领域 → 领域)
    counted: str = ""  # the noun counted: 多少户居民 → 居民
    years: tuple[str, ...] = ()  # a year the question names: 2022年
    per: tuple[str, ...] = ()  # per-unit modifiers: 人均, 每亩
    aim: bool = False  # asks for a target (今年计划再新建多少亩, 要争取达到多少), which 力争/目标 gives
    quoted: bool = False  # asks for a slogan (什么口号, 理念是什么), which the report puts in quotes

    def lacks_verb(self, text: str) -> bool:
        """Whether ``text`` has none of the verbs a what-question asks about."""
        return bool(self.verbs) and not any(v in text for v in self.verbs)

    def lacks_target(self, text: str) -> bool:
        """Whether a question about a target gets a ``text`` that states none (累计建成…, not 力争…)."""
        return self.aim and not any(w in text for w in _TARGET_WORDS + ("预计",))

    def lacks_quote(self, text: str) -> bool:
        """Whether a name question's candidate ``text`` quotes no name: with the question's
        verbs, none that a verb governs (坚持“凭实绩论英雄…”, not 坚持严管…“三个区分开来”)."""
        if not self.quoted:
            return False
        if self.verbs:
            return not any(re.search(re.escape(v) + _QUOTE_AFTER, text) for v in self.verbs)
        return not _QUOTE.search(text)

    def lacks_item(self, text: str) -> bool:
        """Whether ``text`` does not name the kind of item a which-question asks for."""
        return bool(self.item) and self.item not in text

    @property
    def empty(self) -> bool:
        return not (self.units or self.head or self.change or self.when or self.figure or self.years or self.per)


def _family(unit: str) -> frozenset[str]:
    return answering_units("元" if unit == "钱" else unit)


_EN_DAY = re.compile(r"\b(what|which) (date|day)\b|\bon what day\b", re.I)
_EN_TIME = re.compile(r"^\s*when\b|\b(what|which) (year|month|time)\b", re.I)
_EN_PERCENT = re.compile(r"\bhow fast\b|\bwhat (percentage|share|proportion)\b|\bby how much\b|\bgrowth rate\b|"
                         r"\b(interest|growth|coverage|unemployment) rate\b|\bby what percentage\b|"
                         r"\bhow much did\b.{0,60}\b(grow|grew|increase|rise|rose)\b", re.I)
_EN_FIGURE = re.compile(r"\bhow (many|much)\b|\bwhat (is|was|are|were) the (\w+ ){0,3}(number|amount|total|size|"
                        r"price|cost|investment|budget|value|output|temperature|wage|salary|income|population)\b", re.I)
# What an English question's figure is counted in, when its words say so.
_EN_UNITS = (
    (re.compile(r"\b(investment|invested|cost|price|budget|yuan|funds?|money|loans?|wage|salary|income|revenue)\b", re.I), "元"),
    (re.compile(r"\b(people|persons|residents|cadres|officials|workers|jobs|visits|visitors|tourists)\b", re.I), "人"),
    (re.compile(r"\b(mu|hectares?|acres?)\b", re.I), "亩"),
    (re.compile(r"\b(kilometres?|kilometers?|km)\b", re.I), "公里"),
)


def _english_frame(question: str) -> Frame:
    if _EN_DAY.search(question):
        return Frame(when="day")
    if _EN_TIME.search(question):
        return Frame(when="time")
    if _EN_PERCENT.search(question):
        return Frame(units=_family("%"), figure=True)
    if _EN_FIGURE.search(question):
        unit = next((u for pattern, u in _EN_UNITS if pattern.search(question)), "")
        return Frame(units=_family(unit) if unit else frozenset(), figure=True)
    return Frame()


@lru_cache(maxsize=4096)
def frame_of(question: str) -> Frame:
    """The frame of the first part of ``question`` that asks for a quantity or a date."""
    if language(question) == "en":
        return _english_frame(question)
    frame = _first_frame(question)
    verbs, item, quoted = _what_verbs(question), _which_item(question), bool(_NAME_ASKED.search(question))
    if quoted:
        verbs = verbs or _slogan_verbs(question)
    return replace(frame, verbs=verbs, item=item, quoted=quoted) if verbs or item or quoted else frame


# A slogan asked for: the report gives it in quotes (坚持“凭实绩论英雄、以德才用干部”).
_NAME_NOUNS = "口号|理念|提法|标语"  # not 称号, 名称 or 叫什么: a title or a project name is not quoted
_NAME_ASKED = re.compile(rf"(?:什么|哪个|哪一?种)(?:{_NAME_NOUNS})|(?:{_NAME_NOUNS})(?:是|叫)什么")
_NAME_NOUN = re.compile(rf"(?:的)?(?:{_NAME_NOUNS})")


def _slogan_verbs(question: str) -> tuple[str, ...]:
    """The verb that holds the slogan: 坚持的口号是什么, 坚持的是什么提法 → 坚持."""
    verbs = []
    for match in _NAME_NOUN.finditer(question):
        tags = [t for t in pos_tags(question[: match.start()]) if t[0].strip()]
        while tags and tags[-1][0] in ("的", "是", "什么", "哪个", "哪种"):  # 坚持的是什么提法
            tags.pop()
        if tags and tags[-1][1].startswith("v") and len(tags[-1][0]) >= 2 and tags[-1][0] not in _LIGHT_VERBS:
            verbs.append(tags[-1][0])
    return tuple(verbs)


_QUOTE = re.compile(r"[“\"「《]")
_QUOTE_AFTER = r".{0,2}[“\"「《]"  # the verb's object is the quote: 坚持“, 树立了“


_WHICH = re.compile(r"(?:哪些|哪几(?:种|类|个|项|条|方面)?)[“\"]?")


def _which_item(question: str) -> str:
    """The noun right after 哪些/哪几种: the kind of item the answer lists (哪些领域 → 领域)."""
    match = _WHICH.search(question)
    if not match:
        return ""
    tags = pos_tags(question[match.end():])
    if tags and tags[0][1].startswith(("n", "vn")) and tags[0][0] not in _GENERIC_ITEMS:
        return tags[0][0]
    return ""


_GENERIC_ITEMS = frozenset("方面 内容 工作 东西 事情 事 事儿 部分 措施 举措 做法 要求 情况 地方".split())


_WHAT = re.compile(r"什么|哪些")
_LIGHT_VERBS = frozenset("是 有 叫 讲 做 干 说 指 为 成 用 要 能 会 提到 提出 包括 涉及 采取 属于 称为 叫做 得到 获得 享受 受到 拿到 "
                         "预计 计划 准备 打算".split())


def _what_verbs(question: str) -> tuple[str, ...]:
    """The verbs right before 什么/哪些: the answer is their object (跑出什么 → 跑出)."""
    verbs = []
    for match in _WHAT.finditer(question):
        tags = list(pos_tags(question[: match.start()]))
        verb = ""
        while tags and tags[-1][1].startswith("v") and len(tags[-1][0]) == 1 and len(verb) < 2:
            verb = tags.pop()[0] + verb  # 跑 + 出: jieba may cut a verb with its complement
        if not verb and tags and tags[-1][1].startswith("v"):
            verb = tags[-1][0]
        if len(verb) >= 2 and verb not in _LIGHT_VERBS:
            verbs.append(verb)
    return tuple(verbs)


def _first_frame(question: str) -> Frame:
    for part in _PART.split(question):
        if _DAY.search(part):
            return Frame(when="day", done=bool(_DONE.search(part)), **_qualifiers(part))
        if _TIME.search(part):
            return Frame(when="year" if _YEAR_ASKED.search(part) else "time", **_qualifiers(part))
        if _RANK_ASKED.search(part):
            return Frame(when="rank", **_qualifiers(part))
        match = _QUANTITY.search(part)
        if match:
            return _quantity_frame(part, match)
    return Frame()


def _qualifiers(part: str) -> dict:
    """What any answer must also match: the year named (2022年) and a per-unit modifier (人均)."""
    return {"years": tuple(_EXPLICIT_YEAR.findall(part)), "per": tuple(_DISTRIBUTIVE.findall(part))}


def _counted(part: str, after: int) -> str:
    """The noun counted after 多少/几 and its unit: 多少户居民 → 居民, 多大比例 → 比例."""
    tags = [(w, f) for w, f in pos_tags(part[after:]) if w.strip()]
    if tags and tags[0][1].startswith(("n", "vn", "l")) and tags[0][0] not in _GENERIC_HEADS and len(tags[0][0]) >= 2:
        return tags[0][0]
    return ""


def _quantity_frame(part: str, match: re.Match) -> Frame:
    unit = _UNIT.match(part[match.start():])
    units = _family(unit.group(1)) if unit else frozenset()
    counted = _counted(part, match.start() + (len(unit.group(0)) if unit else len(match.group(0))))
    if _PERCENT.search(part):
        units = _family("%")
    before = re.sub(r"百分之$", "", part[: match.start()])  # 覆盖率达到了百分之多少
    tokens = [w for w, f in pos_tags(before) if w.strip() and f != "x"]  # x: punctuation
    tags = dict(pos_tags(before))
    change = any(c in part for c in _CHANGE)
    head = subject = ""
    copula = False
    while tokens and (tokens[-1] in _FILLER or tokens[-1] in ("了", "过")):  # 达到了
        copula = copula or tokens[-1] in ("是", "有", "为")
        tokens.pop()
    if change:
        while tokens and (tokens[-1] in _CHANGE or tokens[-1] in ("同比", "比", "去年同期", "上年", "比上年", "了")):
            tokens.pop()
        if tokens and tags.get(tokens[-1], "").startswith(("n", "v", "l", "j")) and not tags[tokens[-1]].startswith("ns"):
            subject = tokens[-1]
    elif tokens and tokens[-1] not in ("的", "地") and (copula or tags.get(tokens[-1], "").startswith(("n", "l", "j"))):
        head = tokens[-1]
        if tags.get(head, "").startswith(("ns", "nr", "t")):
            head = ""
        elif len(head) == 1 and len(tokens) > 1 and tokens[-2] not in ("的", "地"):
            head = tokens[-2] + head  # 养殖量, 上线率: the one-character head needs its noun
    if head in _GENERIC_HEADS:
        head = ""
    done = bool(_DONE.search(part)) and not _AIM.search(part)
    aim = bool(_AIM_ASKED.search(part)) and not _DONE.search(part)
    if head == "钱" or head.endswith("的钱"):
        head, units = "", units or _family("元")
    shadows = tuple(w for w, _ in pos_tags(part) if head and head in w and w != head)
    return Frame(units=units, head=head, change=change, subject=subject, done=done, aim=aim, figure=True, shadows=shadows,
                 counted=counted, **_qualifiers(part))


def unmet(frame: Frame, text: str, context: str = "") -> str:
    """What ``text`` (with its heading or lead, ``context``) lacks of the frame; "" when it answers."""
    if frame.empty:
        return ""
    text, context = unicodedata.normalize("NFKC", text), unicodedata.normalize("NFKC", context)
    whole = context + text
    for longer in frame.shadows:  # 标准 inside 高标准农田 is not the asked-for 标准
        whole = whole.replace(longer, "")
    for year in frame.years:
        if year.replace(" ", "") not in whole.replace(" ", ""):
            return f"the passages say nothing of {year}"
    for modifier in frame.per:
        if modifier not in whole:
            return f"the passages give no {modifier} figure"
    if frame.when == "day":
        return "" if _DATE.search(text) else "the passages give no date"
    if frame.when == "year":
        return "" if _YEAR_WORDS.search(text) else "the passages give no year"
    if frame.when == "time":
        return "" if _TIME_WORDS.search(text) else "the passages give no time"
    if frame.when == "rank":
        return "" if _RANK_WORDS.search(text) else "the passages give no rank"
    nums = numbers(text)
    if frame.figure and not nums:
        return "the passages give no figure for it"
    if frame.units and not any(unit_of(n) in frame.units for n in nums):
        return "the passages give no figure in the unit asked for"
    if frame.head:
        if frame.head in _AIM_HEADS:
            if not any(w in whole for w in _AIM_WORDS):
                return "the passages give no target"
        elif not holds_word(whole, frame.head):
            return f"the passages do not give the {frame.head}"
    if frame.counted and frame.counted not in whole:
        return f"the passages do not count {frame.counted}"
    if frame.change:
        if not _CHANGE_WORDS.search(text):
            return "the passages give no change"
        if frame.subject and frame.subject not in whole:
            return f"the passages give no change of {frame.subject}"
    if frame.done and any(w in text for w in _TARGET_WORDS) and "上半年" not in text:
        return "the passages give a target, not what was done"
    return ""
