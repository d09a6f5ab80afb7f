"""The BM25 tokenizer: whole numbers with units, learned quoted terms, stopwords, NFKC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.keyword.tokenize import (
    STOPWORDS,
    KeywordTokenizer,
    TokenizerSettings,
    learn_terms,
    normalize,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plain() -> KeywordTokenizer:
    return KeywordTokenizer()


@pytest.fixture(scope="module")
def report_terms(report_text: str) -> list[str]:
    return learn_terms([report_text])


@pytest.fixture(scope="module")
def learned(report_terms: list[str]) -> KeywordTokenizer:
    return KeywordTokenizer(report_terms)


# --- numbers with units ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("肉牛养殖量达到131.7万头", ["131.7万头", "131.7万", "131.7"]),
        ("上半年全市GDP增长5.3%", ["5.3%", "5.3"]),
        ("累计建成高标准农田482万亩", ["482万亩", "482万", "482"]),
        ("到位资金160.53亿元", ["160.53亿元", "160.53亿", "160.53"]),
        ("实现城镇新增就业12000余人", ["12000余人", "12000"]),
        ("红色文旅接待游客73.98万人次", ["73.98万人次", "73.98万", "73.98"]),
        ("规划建设7所社区食堂", ["7所", "7"]),
        ("全市利用外资973万美元", ["973万美元", "973万", "973"]),
        ("比重达到64.06%", ["64.06%", "64.06"]),
    ],
)
def test_number_with_unit_is_one_token_plus_the_bare_number(
    plain: KeywordTokenizer, text: str, expected: list[str]
) -> None:
    tokens = plain.tokenize(text)
    for token in expected:
        assert token in tokens
    # the whole figure is never cut into pieces
    assert "万头" not in tokens and "亿元" not in tokens and "余人" not in tokens


def test_plus_figure_stays_whole(plain: KeywordTokenizer) -> None:
    tokens = plain.tokenize("创新“梨树模式”“4+3”升级版")
    assert "4+3" in tokens
    assert "4" not in tokens and "3" not in tokens


def test_date_is_one_token_and_gives_its_parts(plain: KeywordTokenizer) -> None:
    tokens = plain.tokenize("四平市委八届六次全会于2023年8月3日召开。")
    assert tokens[tokens.index("2023年8月3日") : tokens.index("2023年8月3日") + 7] == [
        "2023年8月3日",
        "2023年8月",
        "8月3日",
        "2023年",
        "8月",
        "3日",
        "2023",
    ]
    assert "年" not in tokens and "月" not in tokens


def test_iso_and_full_width_dates_give_the_same_tokens(plain: KeywordTokenizer) -> None:
    expected = plain.tokenize("2023年8月3日")
    assert plain.tokenize("2023-08-03") == expected
    assert plain.tokenize("２０２３年８月３日") == expected
    assert plain.tokenize("2023/8/3") == expected


def test_question_figure_matches_document_figure(plain: KeywordTokenizer) -> None:
    document = set(plain.tokenize("肉牛养殖量达到131.7万头"))
    assert set(plain.tokenize("131.7万")) <= document
    assert set(plain.tokenize("131.7")) <= document
    assert "12000" in plain.tokenize("12,000人")
    assert plain.tokenize("12,000人") == ["12000人", "12000"]


def test_latin_words_are_lower_cased_whole(plain: KeywordTokenizer) -> None:
    assert plain.tokenize("GDP增长") == ["gdp", "增长"]
    assert plain.tokenize("5G网络") == ["5g", "5", "网络"]


def test_without_units_numbers_are_left_to_jieba() -> None:
    tokens = KeywordTokenizer(settings=TokenizerSettings(units=False)).tokenize("肉牛养殖量达到131.7万头")
    assert "131.7万头" not in tokens


# --- normalisation, punctuation and stopwords --------------------------------------


def test_normalize_is_nfkc_lower_case_without_punctuation() -> None:
    assert normalize("ＧＤＰ增长５．３％，“梨树模式”。") == "gdp增长5.3%, 梨树模式"
    assert normalize("Ａ\u3000Ｂ\tC\n") == "a b c"
    assert normalize("") == ""


def test_full_width_and_half_width_tokenize_alike(plain: KeywordTokenizer) -> None:
    assert plain.tokenize("ＧＤＰ增长５．３％，稳中有进！") == plain.tokenize("GDP增长5.3%,稳中有进!")


def test_punctuation_never_becomes_a_token(plain: KeywordTokenizer, report_text: str) -> None:
    for token in plain.tokenize(report_text):
        assert any(ch.isalnum() for ch in token), token


def test_stopwords_and_question_words_are_dropped(plain: KeywordTokenizer) -> None:
    tokens = plain.tokenize("永林化工磷酸三乙酯项目年产多少?")
    assert "多少" not in tokens and "年产" in tokens and "永林" in tokens
    tokens = plain.tokenize("哪些项目是在什么时候开工的？")
    assert not {"哪些", "是", "在", "什么", "的"} & set(tokens)
    assert plain.tokenize("What is the GDP of Siping?") == ["gdp", "siping"]
    assert plain.tokenize("的了和是在哪些多少什么") == []
    assert {"的", "了", "和", "是", "在", "哪些", "多少", "什么", "the", "of"} <= STOPWORDS


def test_tokenize_is_deterministic(report_text: str, report_terms: list[str]) -> None:
    first = KeywordTokenizer(report_terms).tokenize(report_text)
    second = KeywordTokenizer(list(reversed(report_terms))).tokenize(report_text)
    assert first == second


# --- learned terms ---------------------------------------------------------------


def test_learn_terms_collects_quoted_names(report_terms: list[str]) -> None:
    for term in ("梨树模式", "双轮双创", "四个一定要", "一主六双", "三三九一", "嵌入式", "急难愁盼"):
        assert term in report_terms
    assert report_terms == sorted(set(report_terms))
    assert "4+3" not in report_terms  # a figure, already one token
    assert not [term for term in report_terms if "、" in term]  # “学先进、找差距、争先锋” is a phrase
    assert not [term for term in report_terms if len(term) > 12]  # the long 《…》 title


def test_learn_terms_brackets_and_lengths() -> None:
    text = "「甲乙」《丙丁戊》『己庚』〈辛壬〉“癸”“一二三四五六七八九十一二三” \"子丑\""
    assert learn_terms([text]) == ["丙丁戊", "子丑", "己庚", "甲乙", "辛壬"]
    assert learn_terms([text], min_chars=1) == ["丙丁戊", "子丑", "己庚", "甲乙", "癸", "辛壬"]


def test_learned_terms_are_kept_whole(learned: KeywordTokenizer, report_text: str, report_terms: list[str]) -> None:
    tokens = learned.tokenize(report_text)
    for term in report_terms:
        assert term in tokens, term
    assert "四个一定要" in learned.tokenize("推动四个一定要再深化")  # unquoted in a question too


def test_search_mode_also_emits_the_words_inside_a_term(learned: KeywordTokenizer) -> None:
    tokens = learned.tokenize("梨树模式")
    assert tokens[-1] == "梨树模式" and "梨树" in tokens


def test_terms_belong_to_one_tokenizer_only(learned: KeywordTokenizer) -> None:
    learned.warm()
    other = KeywordTokenizer(settings=TokenizerSettings(mode="default"))
    assert "四个一定要" not in other.tokenize("推动“四个一定要”再深化")
    with_term = KeywordTokenizer(["四个一定要"], TokenizerSettings(mode="default"))
    assert "四个一定要" in with_term.tokenize("推动“四个一定要”再深化")


def test_terms_only_change_text_that_contains_them(plain: KeywordTokenizer, report_text: str) -> None:
    with_terms = KeywordTokenizer(["梨树模式", "双轮双创", "四个一定要"])
    for sentence in report_text.split("。"):
        if not any(term in sentence for term in with_terms.terms):
            assert with_terms.tokenize(sentence) == plain.tokenize(sentence)


def test_settings_round_trip_through_json() -> None:
    settings = TokenizerSettings(mode="default", units=False, hmm=True)
    assert TokenizerSettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings
    with pytest.raises(ValueError):
        TokenizerSettings.from_json({"mode": "full"})


# --- jieba stays quiet -----------------------------------------------------------


def test_jieba_is_imported_lazily_and_quietly(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fake_tmp = tmp_path / "tmp"
    fake_tmp.mkdir()
    code = (
        "import sys\n"
        "import index.keyword.tokenize as t\n"
        "assert 'jieba' not in sys.modules, 'jieba imported at import time'\n"
        f"tok = t.KeywordTokenizer(['梨树模式'], cache_dir={str(cache)!r})\n"
        "assert 'jieba' not in sys.modules, 'jieba imported before first use'\n"
        "print(tok.tokenize('创新梨树模式'))\n"
    )
    env = {**os.environ, "TMPDIR": str(fake_tmp), "PYTHONPATH": str(ROOT)}
    for _ in range(2):  # first run writes the cache, second reads it
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert "梨树模式" in done.stdout
    assert list(fake_tmp.iterdir()) == []  # no jieba.cache in the temp dir
    assert [p.name.startswith("jieba-") for p in cache.iterdir()] == [True]


def test_a_broken_jieba_cache_is_ignored(tmp_path: Path) -> None:
    from index.keyword.tokenize import _read_cache, _write_cache

    good = tmp_path / "good.marshal"
    _write_cache(good, ({"梨树": 3, "梨": 0}, 3))
    assert _read_cache(good) == ({"梨树": 3, "梨": 0}, 3)
    good.write_bytes(good.read_bytes()[:7])
    assert _read_cache(good) is None
    (tmp_path / "wrong.marshal").write_bytes(__import__("marshal").dumps([1, 2]))
    assert _read_cache(tmp_path / "wrong.marshal") is None
    assert _read_cache(tmp_path / "absent.marshal") is None
