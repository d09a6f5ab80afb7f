"""Index benchmarks: build time, query latency, peak memory, incremental update.

    python -m index.bench [--out docs/bench-index.md] [--no-distractors]

Two collections: the bundled report, and the report plus the 848 CMRC 2018
dev passages (one file each). Each build runs in a child process with a cold
embedding cache, so its time includes embedding and its peak RSS is the
child's own. Latency is warm (index loaded, model loaded), over the dev
set's questions. Figures are for this machine, in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile
from eval.retrieval_bench import CMRC_DEV
from eval.sets import REPORT_DEV, load_jsonl
from ragchat.paths import bundled_report


def _child(args: list[str], home: Path) -> dict:
    """Run ``python -m index.bench <args>`` and return its JSON and its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-m", "index.bench", *args],
        capture_output=True, text=True, env={**os.environ, "RAGCHAT_HOME": str(home)},
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench step failed: {args}\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mib"] = round(max(peak, before) / 1024, 1)  # ru_maxrss is KiB on Linux
    return result


def _write_cmrc(folder: Path) -> list[Path]:
    data = json.loads(CMRC_DEV.read_text(encoding="utf-8"))["data"]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in data:
        for para in article["paragraphs"]:
            path = folder / f"{para['id']}.txt"
            path.write_text(para["context"], encoding="utf-8")
            paths.append(path)
    return paths


# --- steps run in a child process ----------------------------------------------


def step_build(paths: list[str]) -> dict:
    from index.models import embeddings_from_settings
    from index.update import update_index
    from ragchat.settings import load_settings

    settings = load_settings()
    embeddings = embeddings_from_settings(settings)
    started = time.perf_counter()
    report = update_index(settings.index_dir, settings, embeddings, add=paths)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "chunks": report.n_chunks, "documents": report.n_documents,
            "chunks_per_s": round(report.n_chunks / seconds, 1), "chunks_embedded": report.chunks_embedded}


def step_query() -> dict:
    from index.models import embeddings_from_settings
    from index.open import open_index
    from index.retriever import HybridRetriever
    from ragchat.settings import load_settings

    settings = load_settings()
    embeddings = embeddings_from_settings(settings)
    snapshot = open_index(settings, embeddings, build_if_missing=False)
    retriever = HybridRetriever.from_settings(snapshot, embeddings, settings)
    questions = [item.question for item in load_jsonl(REPORT_DEV).items]
    retriever.invoke(questions[0])  # warm: model and jieba loaded
    result = {}
    for mode in ("dense", "keyword", "hybrid"):
        times = []
        for question in questions:
            started = time.perf_counter()
            retriever.search(question, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
        result[mode] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}
    return result


# --- the driver ------------------------------------------------------------------


def run(distractors: bool) -> dict:
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="ragchat-bench-") as tmp:
        root = Path(tmp)
        collections = {"report": [str(bundled_report())]}
        if distractors:
            cmrc = _write_cmrc(root / "cmrc")
            collections["report+cmrc"] = [str(bundled_report()), str(root / "cmrc")]
        for name, paths in collections.items():
            home = root / f"home-{name}"
            print(f"building {name} ...", file=sys.stderr)
            build = _child(["step-build", *paths], home)
            query = _child(["step-query"], home)
            results[name] = {"build": build, "query": {k: v for k, v in query.items() if k != "peak_rss_mib"}}
            if name == "report+cmrc":
                victim = cmrc[100]
                victim.write_text(victim.read_text(encoding="utf-8") + "\n\n本段为基准测试追加的一句话。", encoding="utf-8")
                update = _child(["step-update", str(victim)], home)
                update.pop("peak_rss_mib", None)
                results[name]["one_document_update"] = update
    return results


def markdown(results: dict) -> str:
    lines = [
        "| collection | documents | chunks | build s (cold cache) | chunks/s | peak RSS MiB | dense p50/p95 ms | keyword p50/p95 ms | hybrid p50/p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        b, q = r["build"], r["query"]
        lines.append(
            f"| {name} | {b['documents']} | {b['chunks']} | {b['seconds']} | {b['chunks_per_s']} | {b['peak_rss_mib']} | "
            + " | ".join(f"{q[m]['p50_ms']} / {q[m]['p95_ms']}" for m in ("dense", "keyword", "hybrid")) + " |"
        )
    for name, r in results.items():
        if "one_document_update" in r:
            u = r["one_document_update"]
            lines.append(f"\nOne edited document in {name}: {u['seconds']} s, "
                         f"{u['chunks_embedded']} chunks embedded, index {u['chunks']} chunks.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("step-"):
        step, rest = argv[0], argv[1:]
        out = {"step-build": lambda: step_build(rest), "step-query": step_query,
               "step-update": lambda: step_build(rest[:1])}[step]()
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-distractors", action="store_true")
    args = parser.parse_args(argv)
    results = run(distractors=not args.no_distractors)
    table = markdown(results)
    print(json.dumps(results, indent=1))
    print(table)
    if args.out:
        args.out.write_text("# Index benchmark (generated by `make bench`)\n\n" + table, encoding="utf-8")


if __name__ == "__main__":
    main()
