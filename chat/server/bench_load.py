"""The load test of the API: ``python -m chat.server.bench_load`` (``make bench-serve``).

Starts ``ragchat serve`` in a subprocess on a free loopback port, in a temporary home (the bundled
report), asks each question alone by each route (the expected replies), then runs ``--clients``
concurrent clients for ``--duration`` seconds (:mod:`chat.server.load`) and checks: no 5xx and no
broken connection, every answer equal to its question's expected one; 429s are counted apart.
One small document is uploaded a third of the way in (``POST /v1/kbs/default/documents``, a job);
answers must then come from the old or the new index, and afterwards the job's report must list the
document as added, the KB's document list must hold it, and its question must cite it. Writes p50/p95 latency by route, throughput and error counts as Markdown
(``--out``) and a plot (``--plot``). Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from chat.server.load import KINDS, LoadRun, load_questions, measure
from eval.metrics import percentile
from ragchat.net import free_loopback_port

QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "sets" / "report_dev.jsonl"
START_TIMEOUT_S = 900.0


def start_server(home: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``ragchat serve`` on ``home`` in a subprocess; returns once ``/readyz`` answers 200."""
    port = free_loopback_port()
    config = home / "empty.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGCHAT_")}
    env.update(RAGCHAT_HOME=str(home), RAGCHAT_CONFIG=str(config), **extra_env)
    log = (home / "serve.log").open("w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "ragchat", "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {home / 'serve.log'}")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the server was not ready in {START_TIMEOUT_S:g} s")


def report(run: LoadRun, load_average: str, limits: str) -> str:
    ok = [r for r in run.results if r.status == 200]
    span = max((r.started_s + r.latency_s for r in run.results), default=run.duration_s) or run.duration_s
    lines = [
        f"{run.clients} concurrent clients for {run.duration_s:g} s on loopback "
        f"(server: {limits}; load average before the run: {load_average}).",
        "",
        "| Route | Answers (200) | 429 busy | p50 latency | p95 latency |",
        "|---|---|---|---|---|",
    ]
    names = {"ask": "`POST /v1/ask`", "chat": "`/v1/chat/completions`", "stream": "`/v1/chat/completions` streamed"}
    for kind in KINDS:
        rows = run.of(kind)
        lat = [r.latency_s for r in rows if r.status == 200]
        p50 = f"{percentile(lat, 0.5):.2f} s" if lat else "-"
        p95 = f"{percentile(lat, 0.95):.2f} s" if lat else "-"
        lines.append(f"| {names[kind]} | {sum(r.status == 200 for r in rows)} | "
                     f"{sum(r.status == 429 for r in rows)} | {p50} | {p95} |")
    lines += [
        "",
        f"- throughput: {len(ok) / span:.2f} answers/s ({len(ok)} answers in {span:.1f} s, from the first request "
        "to the last answer)",
        f"- 5xx or broken connections: {len(run.server_errors)}; other 4xx: {len(run.other_errors)}; "
        f"429 busy: {run.busy}",
        f"- answers different from the same question asked alone (by the old or the new index): "
        f"{len(run.mismatches)}; answers only the new index gives: {len(run.from_new_index)}",
        f"- upload ({run.duration_s / 3:g} s in): {run.upload.line() if run.upload else 'none (--no-upload)'}",
    ]
    return "\n".join(lines) + "\n"


def plot(run: LoadRun, path: Path) -> None:
    from matplotlib.figure import Figure  # Agg, no display

    fig = Figure(figsize=(8, 5), dpi=110)
    top, bottom = fig.subplots(2, 1, sharex=True)
    for kind in KINDS:
        rows = [r for r in run.of(kind) if r.status == 200]
        top.scatter([r.started_s for r in rows], [r.latency_s for r in rows], s=6, label=kind, alpha=0.6)
    busy = [r for r in run.results if r.status == 429]
    if busy:
        top.scatter([r.started_s for r in busy], [r.latency_s for r in busy], s=6, marker="x", label="429", c="k")
    if run.upload is not None and run.upload.state == "done":  # from the POST to the new index live
        for ax in (top, bottom):
            ax.axvspan(run.duration_s / 3, run.duration_s / 3 + run.upload.job_s, color="0.85", zorder=0)
        top.annotate("upload", (run.duration_s / 3, 0), fontsize=8)
    top.set(ylabel="latency (s)", title=f"{run.clients} clients, {run.duration_s:g} s")
    top.legend(fontsize=8)
    seconds = int(run.duration_s) + 1
    done = [0] * (seconds + 60)
    for r in run.results:
        if r.status == 200:
            done[int(r.started_s + r.latency_s)] += 1
    bottom.plot(range(len(done)), done)
    bottom.set(xlabel="time since the load began (s)", ylabel="answers completed / s", xlim=(0, seconds + 5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--questions", type=int, default=20, help="how many of eval/sets/report_dev.jsonl")
    parser.add_argument("--max-concurrent", type=int, default=None, help="serve.max_concurrent of the server")
    parser.add_argument("--max-waiting", type=int, default=None, help="serve.max_waiting of the server")
    parser.add_argument("--no-upload", action="store_true", help="no document upload during the load")
    parser.add_argument("--out", type=Path, default=None, help="the Markdown report (default: stdout only)")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    questions = load_questions(QUESTIONS, args.questions)
    with tempfile.TemporaryDirectory(prefix="ragchat-load-") as home:
        limits = {"RAGCHAT_SERVE__MAX_CONCURRENT": args.max_concurrent, "RAGCHAT_SERVE__MAX_WAITING": args.max_waiting}
        proc, url = start_server(Path(home), {k: str(v) for k, v in limits.items() if v is not None})
        try:
            run = asyncio.run(measure(url, questions, args.clients, args.duration, not args.no_upload))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    shown = ", ".join(f"serve.{k.split('__')[-1].lower()}={v}" for k, v in limits.items() if v is not None)
    text = report(run, load_average, shown or "default limits")
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.plot:
        plot(run, args.plot)
    failed = run.server_errors or run.mismatches or (run.upload is not None and not run.upload.ok)
    if run.upload is not None and not run.upload.ok:
        print(f"  upload: {run.upload.line()}", file=sys.stderr)
    for r in (run.server_errors + run.mismatches)[:5]:
        print(f"  {r.kind} q{r.question} status {r.status}: {r.detail or r.reply}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
