"""Measure the keyword index: tokenizer variants, build/rebuild time, query latency.

Run ``python -m index.keyword.bench [--report PATH] [--cmrc PATH] [--show-ranks]``.

The report is cut into sentence-packed chunks of at most ~200 characters (sentences
end at 。！？；, packing stays within a paragraph). Collection A mixes them with the
848 CMRC 2018 dev passages as they are; collection B with the same CMRC text packed
the same way (~2.8k short distractors, harder for BM25's length normalisation). Each
question names a substring of the answering sentence; hit@k says whether a report
chunk holding it is in the top k. Every tokenizer variant (jieba cut / cut_for_search,
with/without unit tokens, with/without learned terms) is measured, then build, save,
load and rebuild times and warm query latency. Nothing is downloaded; nothing is
written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from index.keyword.bm25 import KeywordIndex
from index.keyword.tokenize import KeywordTokenizer, TokenizerSettings, learn_terms
from ragchat.paths import bundled_report

DEFAULT_CMRC = Path("/work/shared/data/cmrc2018/squad-style-data_cmrc2018_dev.json")
CHUNK_CHARS = 200
T = TypeVar("T")

# (kind, question, a substring of the answering sentence). Every report chunk holding
# the substring counts as a hit. Kinds: "fact" asks with the words of the answer;
# "figure" asks with a number or date from the answer; "term" names a quoted corpus
# term; "lookup" is a bare figure or term typed as the whole query; "other" is a
# paraphrase and an English question (BM25 is not expected to win those).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("fact", "上半年四平全市GDP增长了多少？", "GDP增长5.3%"),
    ("fact", "四平累计建成了多少高标准农田？", "累计建成高标准农田482万亩"),
    ("fact", "上半年红色文旅接待了多少游客？", "接待游客73.98万人次"),
    ("fact", "全市开展了多少次招商活动？", "招商活动629次"),
    ("fact", "肉牛养殖量达到多少？", "肉牛养殖量达到131.7万头"),
    ("fact", "城镇新增就业多少人？", "城镇新增就业12000余人"),
    ("fact", "永林化工磷酸三乙酯项目年产多少?", "年产1.5万吨磷酸三乙酯"),
    ("fact", "今年全市粮食产量力争达到多少？", "粮食产量达到96亿斤"),
    ("fact", "要为多大年纪的独居和空巢老人提供关爱服务？", "80周岁以上独居和空巢老人"),
    ("fact", "累计处置问题线索多少件？", "处置问题线索1493件"),
    ("figure", "131.7万头指的是什么？", "肉牛养殖量达到131.7万头"),
    ("figure", "养殖量131.7万是哪种牲畜？", "肉牛养殖量达到131.7万头"),
    ("figure", "哪项指标同比增长了20.45%？", "同比增长20.45%"),
    ("figure", "2023年8月3日召开了什么会议？", "于2023年8月3日召开"),
    ("figure", "73.98万人次是什么数据？", "接待游客73.98万人次"),
    ("figure", "160.53亿元是什么钱？", "到位资金160.53亿元"),
    ("figure", "新增就业12000人，同比增长多少？", "城镇新增就业12000余人"),
    ("figure", "32.95万亩是什么任务？", "建设高标准农田32.95万亩"),
    ("figure", "同比增长11.2%的是什么？", "进出口总额同比增长11.2%"),
    ("figure", "规划建设的7所是什么设施？", "7所社区食堂"),
    ("term", "什么是“双轮双创”？", "“双轮双创”派驻监督模式"),
    ("term", "一主六双战略是什么？", "全面落实“一主六双”高质量发展战略"),
    ("term", "“三三九一”战略要怎样推进？", "纵深实施“三三九一”战略"),
    ("term", "“四个一定要”要怎样推进？", "推动“四个一定要”再深化"),
    ("term", "嵌入式养老服务中心规划建设几所？", "11所社区“嵌入式”居家养老服务中心"),
    ("term", "三减一规范要巩固什么成果？", "以“三减一规范”巩固基层减负成果"),
    ("term", "“4+3”升级版是什么的升级版？", "创新“梨树模式”“4+3”升级版"),
    ("term", "月季清零行动得到了谁的肯定？", "“月季清零”专项行动获得省委领导肯定批示"),
    ("lookup", "131.7万", "131.7万头"),
    ("lookup", "5.3%", "GDP增长5.3%"),
    ("lookup", "4+3", "“4+3”升级版"),
    ("lookup", "73.98万", "73.98万人次"),
    ("lookup", "12000人", "12000余人"),
    ("lookup", "8月3日", "2023年8月3日"),
    ("lookup", "20.45%", "同比增长20.45%"),
    ("lookup", "160.53亿", "160.53亿元"),
    ("lookup", "双轮双创", "“双轮双创”"),
    ("lookup", "四个一定要", "“四个一定要”"),
    ("lookup", "三三九一", "“三三九一”"),
    ("lookup", "梨树模式", "“梨树模式”"),
    ("other", "秋天不让在地里烧庄稼秆子，下半年有什么安排？", "秸秆秋季全域禁烧"),
    ("other", "How much did Siping's GDP grow in the first half of the year?", "GDP增长5.3%"),
)
KINDS = ("fact", "figure", "term", "lookup", "other")

_SENTENCE = re.compile(r"[^。！？!?；;]*(?:[。！？!?；;]+|$)")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def sentence_chunks(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Consecutive sentences packed up to ``limit`` characters, never across paragraphs."""
    chunks: list[str] = []
    for paragraph in paragraphs(text):
        current = ""
        for sentence in (s for s in _SENTENCE.findall(paragraph) if s.strip()):
            if current and len(current) + len(sentence) > limit:
                chunks.append(current)
                current = ""
            current += sentence
        if current:
            chunks.append(current)
    return chunks


def cmrc_passages(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(f"cmrc:{p['id']}", p["context"]) for article in data["data"] for p in article["paragraphs"]]


@dataclass(frozen=True)
class Variant:
    name: str
    settings: TokenizerSettings
    learned_terms: bool


VARIANTS = tuple(
    Variant(
        f"{'cut_for_search' if mode == 'search' else 'cut'}"
        f"{' +units' if units else ''}{' +terms' if terms else ''}",
        TokenizerSettings(mode=mode, units=units),
        terms,
    )
    for mode in ("default", "search")
    for units in (False, True)
    for terms in (False, True)
)


def answer_chunks(chunks: Sequence[tuple[str, str]], needle: str) -> frozenset[str]:
    owners = frozenset(chunk_id for chunk_id, text in chunks if needle in text)
    if not owners:
        raise SystemExit(f"answer substring {needle!r} is in no report chunk")
    return owners


def evaluate(index: KeywordIndex, gold: Sequence[frozenset[str]]) -> list[int | None]:
    """Rank (1-based) of the first answering chunk in the top 10 of each question, else None."""
    ranks: list[int | None] = []
    for (_, question, _), targets in zip(QUESTIONS, gold, strict=True):
        hits = [chunk_id for chunk_id, _ in index.search(question, 10)]
        ranks.append(next((rank for rank, chunk_id in enumerate(hits, 1) if chunk_id in targets), None))
    return ranks


def hits_at(ranks: Sequence[int | None], k: int, kind: str | None = None) -> str:
    chosen = [r for r, (qkind, _, _) in zip(ranks, QUESTIONS, strict=True) if kind in (None, qkind)]
    return f"{sum(1 for r in chosen if r is not None and r <= k)}/{len(chosen)}"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=bundled_report())
    parser.add_argument("--cmrc", type=Path, default=DEFAULT_CMRC)
    parser.add_argument("--repeat", type=int, default=20, help="query latency: passes over the questions")
    parser.add_argument("--show-ranks", action="store_true", help="print every question's rank (to stderr)")
    args = parser.parse_args(argv)

    report = [(f"report:{i}", text) for i, text in enumerate(sentence_chunks(args.report.read_text(encoding="utf-8")))]
    cmrc = cmrc_passages(args.cmrc)
    packed = [(f"{cid}:{i}", text) for cid, passage in cmrc for i, text in enumerate(sentence_chunks(passage))]
    gold = [answer_chunks(report, needle) for _, _, needle in QUESTIONS]
    collections = {"A": report + cmrc, "B": report + packed}
    print(f"report: {len(report)} chunks of ≤{CHUNK_CHARS} characters; {len(QUESTIONS)} questions")
    print(f"A = report + {len(cmrc)} CMRC passages ({len(collections['A'])} chunks, "
          f"{sum(len(t) for _, t in collections['A'])} characters, "
          f"{len(learn_terms(t for _, t in collections['A']))} learned terms)")
    print(f"B = report + the same CMRC text packed like the report ({len(collections['B'])} chunks)")

    with tempfile.TemporaryDirectory(prefix="kw-bench-") as tmp:
        cache = Path(tmp) / "cache"
        start = time.perf_counter()
        KeywordTokenizer(settings=TokenizerSettings(), cache_dir=cache).warm()
        print(f"jieba dictionary, first load (parse dict.txt, write cache): {time.perf_counter() - start:.2f} s")

        print()
        kinds = " | ".join(f"B {kind}" for kind in KINDS)
        print(f"| tokenizer | A hit@1 | A hit@3 | B hit@1 | B hit@3 | {kinds} (@1) | build A (s) |")
        print("|---" * (6 + len(KINDS)) + "|")
        default_a: KeywordIndex | None = None
        for variant in VARIANTS:
            row: list[str] = []
            seconds = 0.0
            for name, chunks in collections.items():
                start = time.perf_counter()
                index = KeywordIndex.build(
                    chunks, terms=None if variant.learned_terms else (), settings=variant.settings, cache_dir=cache
                )
                if name == "A":
                    seconds = time.perf_counter() - start
                    if variant.settings == TokenizerSettings() and variant.learned_terms:
                        default_a = index
                ranks = evaluate(index, gold)
                row += [hits_at(ranks, 1), hits_at(ranks, 3)]
                if args.show_ranks:
                    shown = " ".join("-" if r is None else str(r) for r in ranks)
                    print(f"{name} {variant.name}: {shown}", file=sys.stderr)
            row += [hits_at(ranks, 1, kind) for kind in KINDS]
            print(f"| {variant.name} | " + " | ".join(row) + f" | {seconds:.2f} |")
        assert default_a is not None

        latencies = []
        for _ in range(max(1, args.repeat)):
            for _, question, _ in QUESTIONS:
                start = time.perf_counter()
                default_a.search(question, 10)
                latencies.append((time.perf_counter() - start) * 1000)
        print(f"\nquery latency, warm, default settings, collection A ({len(latencies)} queries, top 10): "
              f"p50 {percentile(latencies, 0.5):.2f} ms, p95 {percentile(latencies, 0.95):.2f} ms")

        _rebuild_timings(collections["B"], cache, Path(tmp) / "index")
    return 0


def _rebuild_timings(chunks: list[tuple[str, str]], cache: Path, where: Path) -> None:
    """Build, save, load and rebuild an index of collection B (~2.8k chunks of ≤200 characters)."""
    print(f"\ncollection B, {len(chunks)} chunks:")

    def timed(label: str, action: Callable[[], T], runs: int = 3) -> T:
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            result = action()
            best = min(best, time.perf_counter() - start)
        print(f"- {label}: {best:.2f} s (best of {runs})")
        return result

    index = timed("full build (tokenize everything)", lambda: KeywordIndex.build(chunks, cache_dir=cache))
    timed("save", lambda: index.save(where))
    loaded = timed("load (checksums + arrays; jieba loads lazily)", lambda: KeywordIndex.load(where, cache_dir=cache))
    timed("first query after load, same process (jieba dictionary already parsed)", lambda: loaded.search("肉牛", 5))
    for label, cache_arg in (("with", repr(str(cache))), ("without", "None")):
        print(f"- new process, {label} the jieba cache: {_cold_start(where, cache_arg)}")
    added = [*chunks, ("new:1", "新增段落：全市新建5G基站1200个。")]
    timed("rebuild, 1 chunk added", lambda: loaded.rebuild(added))
    timed("rebuild, 1 chunk deleted", lambda: loaded.rebuild(chunks[1:]))
    with_term = [*chunks, ("new:2", "推广“黑土粮仓”模式，建成示范区12个。")]
    timed("rebuild, 1 chunk added with a new quoted term", lambda: loaded.rebuild(with_term))


def _cold_start(where: Path, cache_arg: str, runs: int = 3) -> str:
    """Import, load and answer one query in a fresh interpreter (best of ``runs``)."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from index.keyword.bm25 import KeywordIndex\n"
        f"index = KeywordIndex.load({str(where)!r}, cache_dir={cache_arg}); t1 = time.perf_counter()\n"
        "index.search('肉牛养殖量达到多少?', 5); t2 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1)\n"
    )
    root = Path(__file__).resolve().parents[2]
    loads, firsts = [], []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
        load, first = (float(x) for x in done.stdout.split())
        loads.append(load)
        firsts.append(first)
    return f"import + load {min(loads):.2f} s, first query {min(firsts):.2f} s (best of {runs})"


if __name__ == "__main__":
    sys.exit(main())
