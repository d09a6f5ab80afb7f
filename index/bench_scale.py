"""The scale benchmark: FAISS flat/HNSW/IVF-PQ, Milvus Lite and bm25s at 10k to 1M chunks.

    python -m index.bench_scale --sizes 10000,100000,1000000 --out docs/scale-bench.md

The corpus of each size is made once (:mod:`index.scale_data`: real e5 vectors of the report's
chunks and a few thousand CMRC chunks, the rest synthetic around them; texts resampled from the
CMRC passages) under ``--work``. Each configuration then runs in its own process
(:mod:`index.scale_runs`), so its peak RSS is its own. Results accumulate in ``--results`` (JSON,
one record per kind and size; a rerun replaces its records), and every run rewrites the Markdown
tables in ``--out`` and the latency/recall plot from all records. Hybrid hit@5 fuses each dense
setting's top-30 with bm25s' top-30 (RRF k=60, 1:1, as the app) on the report dev set.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from index.scale_data import load_corpus, make_corpus
from index.scale_runs import KINDS

FAISS_KINDS = ("flat", "hnsw", "hnsw-wide", "ivfpq48", "ivfpq48r", "ivfpq96")
DEFAULT_KINDS = tuple(k for k in FAISS_KINDS if k != "hnsw-wide") + ("bm25s", "milvus-hnsw", "milvus-ivf", "milvus-bm25")
PLOT = "scale_latency_recall.png"


def default_work() -> Path:
    home = os.environ.get("RAGCHAT_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "ragchat") / "bench-scale"


def run_child(kind: str, folder: Path, timeout_s: float) -> dict | None:
    out = folder / f"result-{kind}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "index.scale_runs", kind, str(folder), str(out)]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    try:
        proc = subprocess.run(cmd, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        print(f"{kind}: stopped after {timeout_s:.0f} s (time budget)", file=sys.stderr, flush=True)
        return {"kind": kind, "n": load_corpus(folder).n, "note": f"not finished in {timeout_s:.0f} s"}
    if proc.returncode != 0 or not out.exists():
        return {"kind": kind, "n": load_corpus(folder).n, "note": f"failed (exit {proc.returncode})"}
    return json.loads(out.read_text(encoding="utf-8"))


def hybrid_hits(records: list[dict], work_folders: dict[int, Path]) -> list[dict]:
    """hit@5 on the dev set of each dense setting fused with bm25s, and of each side alone."""
    from eval.metrics import hit_at, relevant_ranks
    from index.retriever import rrf_fuse

    rows = []
    for n, folder in sorted(work_folders.items()):
        keywords = [r for r in records if r["n"] == n and r["kind"] in ("bm25s", "milvus-bm25") and r.get("settings")]
        corpus = load_corpus(folder, mmap=True)
        cache: dict[int, str] = {}

        def text(row: int) -> str:
            if row not in cache:
                cache[row] = corpus.text(row)
            return cache[row]

        def hit5(tops: list[list[int]]) -> float:
            return round(sum(hit_at(relevant_ranks([text(r) for r in top[:5]], d.evidence), 5)
                             for top, d in zip(tops, corpus.dev)) / len(corpus.dev), 3)

        for kw in keywords:
            rows.append({"n": n, "dense": "—", "keyword": kw["kind"], "hit@5": hit5(kw["settings"][0]["dev_top"])})
        for r in records:
            if r["n"] != n or r["kind"] not in FAISS_KINDS or not r.get("settings"):
                continue
            for s in r["settings"]:
                rows.append({"n": n, "dense": f"{r['kind']} {s['name']}", "keyword": "—", "hit@5": hit5(s["dev_top"])})
                for kw in keywords:
                    fused = [[int(c) for c, _ in rrf_fuse([([str(x) for x in d], 1.0), ([str(x) for x in k], 1.0)], 60)]
                             for d, k in zip(s["dev_top"], kw["settings"][0]["dev_top"])]
                    rows.append({"n": n, "dense": f"{r['kind']} {s['name']}", "keyword": kw["kind"], "hit@5": hit5(fused)})
    return rows


def markdown(records: list[dict], hybrid: list[dict]) -> str:
    lines = ["| chunks | index | setting | build s | RSS data MB | RSS peak MB | disk MB | p50 ms | p95 ms |"
             " p50 ms c8 | p95 ms c8 | q/s c8 | recall@10 | load avg |",
             "|" + "---|" * 14]
    notes = []
    for r in sorted(records, key=lambda r: (r["n"], KINDS.index(r["kind"]))):
        if not r.get("settings"):
            notes.append(f"| {r['n']} | {r['kind']} | — | {r.get('note', 'not run')} |" + " |" * 10)
            continue
        for s in r["settings"]:
            recall = "—" if s["recall10"] is None else s["recall10"]
            lines.append(f"| {r['n']} | {r['kind']} | {s['name']} | {r['build_s']} | {r['rss_data_mb']} | "
                         f"{r.get('rss_peak_mb') or 'n/m'} | {r['disk_mb']} | {s['p50_ms']} | {s['p95_ms']} | {s['p50_c8_ms']} | "
                         f"{s['p95_c8_ms']} | {s['qps_c8']} | {recall} | {r['load']} |")
    out = "\n".join(lines + notes) + "\n"
    if hybrid:
        out += "\n| chunks | dense | keyword | hit@5 |\n|---|---|---|---|\n"
        out += "\n".join(f"| {h['n']} | {h['dense']} | {h['keyword']} | {h['hit@5']} |" for h in hybrid) + "\n"
    return out


def plot(records: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    sizes = sorted({r["n"] for r in records if r.get("settings")})
    fig = Figure(figsize=(6.4 * max(1, len(sizes)) / 1.5, 4.2), dpi=110)
    for i, n in enumerate(sizes, 1):
        ax = fig.add_subplot(1, len(sizes), i)
        for r in records:
            if r["n"] != n or not r.get("settings") or r["settings"][0]["recall10"] is None:
                continue
            pts = [(s["p95_ms"], s["recall10"]) for s in r["settings"]]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ls=":", label=r["kind"],
                    color=f"C{KINDS.index(r['kind']) % 10}")  # one colour per kind in every panel
        ax.set(xscale="log", xlabel="query p95 ms (concurrency 1)", ylabel="recall@10", title=f"{n:,} chunks")
        ax.axhline(0.95, color="grey", lw=0.8, ls="--")
        ax.axvline(50, color="grey", lw=0.8, ls="--")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help=f"of {', '.join(KINDS)}")
    parser.add_argument("--milvus-max", type=int, default=10000,
                        help="Milvus Lite only at sizes up to this (its inserts are slow)")
    parser.add_argument("--bm25-max", type=int, default=1_000_000, help="bm25s and Milvus BM25 up to this size")
    parser.add_argument("--real", type=int, default=2000, help="CMRC chunks embedded for real (about 40 ms each)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per configuration")
    parser.add_argument("--work", type=Path, default=None, help="corpus folder (default <home>/bench-scale)")
    parser.add_argument("--out", type=Path, default=Path("docs/scale-bench.md"))
    parser.add_argument("--results", type=Path, default=None, help="JSON records (default: --out with .json)")
    parser.add_argument("--plot", type=Path, default=Path("docs/plots") / PLOT)
    parser.add_argument("--report-only", action="store_true", help="run nothing: rewrite the tables from --results")
    args = parser.parse_args(argv)
    work = args.work or default_work()
    results = args.results or args.out.with_suffix(".json")
    records = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; use {', '.join(KINDS)}")
    folders: dict[int, Path] = {}
    for n in ([] if args.report_only else [int(s) for s in args.sizes.split(",")]):
        started = time.perf_counter()
        corpus = make_corpus(work, n, real=args.real, queries=args.queries, seed=args.seed)
        folders[n] = corpus.folder
        print(f"[{time.perf_counter() - started:8.1f} s] corpus n={n} ready", file=sys.stderr, flush=True)
        del corpus
        for kind in kinds:
            if (kind.startswith("milvus") and n > args.milvus_max) or ("bm25" in kind and n > args.bm25_max):
                record = {"kind": kind, "n": n, "note": "not run (time budget)"}
            else:
                print(f"== {kind} at {n} chunks", file=sys.stderr, flush=True)
                record = run_child(kind, corpus_folder := folders[n], args.timeout)
                del corpus_folder
            records = [r for r in records if (r["kind"], r["n"]) != (kind, n)] + [record]
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(records), encoding="utf-8")
    known = {r["n"]: f for r in records for f in [work / f"n{r['n']}-r{args.real}-s{args.seed}"] if f.exists()}
    table = markdown(records, hybrid_hits(records, known))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Scale benchmark (generated by `python -m index.bench_scale`)\n\n"
                        "See docs/scale.md for how the corpus is made and what the figures mean.\n\n" + table,
                        encoding="utf-8")
    plot(records, args.plot)
    print(table)


if __name__ == "__main__":
    main()
