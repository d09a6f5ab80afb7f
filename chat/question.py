"""The question, analysed once: what it asks for, and the words it asks with.

``AnswerService.analyse`` reads a standalone question (with the index's
vocabulary and IDF) and returns a :class:`Question`. The stages after it (retrieval expanders, the answer selector, the refusal model)
read this object and never parse the question again.

The *type* asked for comes from the question's grammar alone, in any document:
``多少``/``几`` asks for a figure (with a unit when one follows), ``谁`` for a
person, ``哪里`` for a place, ``哪一年``/``什么时候`` for a date or time, ``哪家
公司`` for an organisation, ``叫什么``/``《`` for a title or name, ``哪些`` for a
list, ``为什么`` for a reason, ``是否``/``吗`` for a yes or no.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from chat.frame import Frame


class AnswerType(str, Enum):
    FIGURE = "figure"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    ORG = "org"
    TITLE = "title"
    LIST = "list"
    REASON = "reason"
    YESNO = "yesno"
    OTHER = "other"


TYPES = tuple(AnswerType)

# Order matters: the first rule that matches names the type.
_ZH_RULES: tuple[tuple[AnswerType, re.Pattern], ...] = (
    (AnswerType.DATE, re.compile(r"什么时候|何时|哪一?年|哪一?天|哪个月|几月|几号|几日|什么时间|哪个时期|哪个朝代|什么年代|多少年[前后]?(?!的)|哪一?年代|时间是|日期")),
    (AnswerType.PERSON, re.compile(r"谁|哪位|哪个人|哪些人|什么人|何人|哪名|姓名|名字叫|由哪个?(?:人|导演|演员|作者)|作者是|创始人|导演是|主演")),
    (AnswerType.PLACE, re.compile(r"哪里|哪儿|何处|何地|什么地方|哪个地方|哪座|哪个(?:国家|城市|省|市|县|地区|州|岛|洲)|哪(?:国|省|市|县|州)|位于|在哪|什么(?:国家|城市|地区|省)|地点")),
    (AnswerType.ORG, re.compile(r"哪(?:家|个|所)(?:公司|机构|组织|大学|学校|部门|单位|企业|银行|团体|媒体|医院|球队|俱乐部|电视台|出版社)|什么(?:公司|机构|组织|部门|单位|企业)|由哪")),
    (AnswerType.FIGURE, re.compile(r"多少|(?<!哪)几(?!乎)|多大|多长|多高|多久|多重|多远|多深|多宽|百分之|比例|增速|增幅|占比|第几|排名")),
    (AnswerType.TITLE, re.compile(r"叫什么|名为|称为什么|名称|称号|简称|别称|别名|原名|全称|外号|绰号|昵称|书名|《|什么(?:口号|理念|提法|称号|名字|奖|作品|歌|书|电影|游戏)|是哪(?:部|本|首|个)")),
    (AnswerType.LIST, re.compile(r"哪些|哪几|包括什么|有什么|分为|分别是")),
    (AnswerType.REASON, re.compile(r"为什么|为何|原因|怎么|怎样|如何|什么作用|什么意义|什么影响|什么特点|目的")),
    (AnswerType.YESNO, re.compile(r"是否|能否|是不是|有没有|吗[？?]?$")),
)
_EN_RULES: tuple[tuple[AnswerType, re.Pattern], ...] = (
    (AnswerType.DATE, re.compile(r"^\s*when\b|\b(what|which) (year|date|day|month|time)\b|\bhow long ago\b", re.I)),
    (AnswerType.PERSON, re.compile(r"^\s*who\b|\bwhom\b|\bwhose\b|\bwhich (person|official|leader)\b", re.I)),
    (AnswerType.PLACE, re.compile(r"^\s*where\b|\b(which|what) (city|country|province|county|place|region|town)\b", re.I)),
    (AnswerType.ORG, re.compile(r"\b(which|what) (company|organi[sz]ation|agency|department|bank|university|body)\b", re.I)),
    (AnswerType.FIGURE, re.compile(r"\bhow (many|much|long|far|big|large|high|fast)\b|\bwhat (percentage|share|proportion|rate|number|amount|total)\b|\bwhat is the \w+ (rate|number|amount|total|output|investment)\b", re.I)),
    (AnswerType.TITLE, re.compile(r"\bwhat is (it|the \w+) called\b|\bname of\b|\bwhat (slogan|title|name)\b|\bcalled\b", re.I)),
    (AnswerType.LIST, re.compile(r"\bwhich\b.*\b(are|were)\b|\bwhat (areas|parts|aspects|measures|tasks|things)\b|\blist\b", re.I)),
    (AnswerType.REASON, re.compile(r"^\s*(why|how)\b", re.I)),
    (AnswerType.YESNO, re.compile(r"^\s*(is|are|was|were|do|does|did|can|will|has|have)\b", re.I)),
)


def answer_type(question: str, lang: str) -> AnswerType:
    """The kind of answer ``question`` asks for (:class:`AnswerType`)."""
    for kind, pattern in _EN_RULES if lang == "en" else _ZH_RULES:
        if pattern.search(question):
            return kind
    return AnswerType.OTHER


@dataclass(frozen=True)
class Question:
    """A question as every later stage sees it.

    ``text`` is what the user typed (cleaned); ``standalone`` the question with a
    follow-up's scope filled in; ``focus`` what the answerer weighs (for English,
    the question with its Chinese terms). ``weights``: each content term of
    ``focus`` with its IDF in the index. ``parts``: the sub-questions of a question
    in several parts (else one). ``asked``: the answer type; ``frame``: the finer
    grammar of a Chinese figure, date or slogan question (:mod:`chat.frame`).
    """

    text: str
    lang: str
    standalone: str
    focus: str
    weights: dict[str, float] = field(default_factory=dict)
    places: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    asked: AnswerType = AnswerType.OTHER
    frame: Frame = Frame()
    chinese: str = ""  # an English question's Chinese terms
    aliases: dict[str, frozenset[str]] = field(default_factory=dict)  # unknown word → index words

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(self.weights)
