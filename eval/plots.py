"""The plots of a run, as PNG files (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.metrics import percentile

HIT_CURVE = "hit_at_k.png"
LATENCY = "latency.png"
BY_TYPE = "by_type.png"


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.figure import Figure  # no pyplot: Figure.savefig renders with Agg, no display

    fig = Figure(figsize=(width, height), dpi=110)
    return fig, fig.add_subplot()


def plot_hit_curve(path: Path, curve: dict[str, float], title: str) -> None:
    fig, ax = _figure()
    ks = [int(k) for k in curve]
    ax.plot(ks, [curve[str(k)] for k in ks], marker="o")
    for k in (1, 5, 10):
        if str(k) in curve:
            ax.annotate(f"{curve[str(k)]:.2f}", (k, curve[str(k)]), textcoords="offset points", xytext=(0, -14),
                        ha="center", fontsize=8)
    ax.set(xlabel="k (chunks retrieved)", ylabel="hit@k (answerable questions)", ylim=(0, 1.02),
           xticks=ks, title=f"hit@k: {title}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def plot_latency(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """Histograms of each stage on a log scale (a few slow questions would flatten a linear one)."""
    fig, ax = _figure()
    stages = [s for s in ("retrieve", "answer", "total") if any(s in r["latency_ms"] for r in rows)]
    values = {s: [max(r["latency_ms"][s], 0.01) for r in rows if s in r["latency_ms"]] for s in stages}
    low = min(min(v) for v in values.values())
    high = max(max(v) for v in values.values())
    bins = [low * (high / low) ** (i / 40) for i in range(41)] if high > low else 10
    for stage in stages:
        p50, p95 = percentile(values[stage], 0.5), percentile(values[stage], 0.95)
        ax.hist(values[stage], bins=bins, alpha=0.5, label=f"{stage} (p50 {p50:.0f} ms, p95 {p95:.0f} ms)")
    ax.set_xscale("log")
    ax.set(xlabel="milliseconds (log scale)", ylabel="questions", title=f"latency per stage: {title}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def plot_by_type(path: Path, by_type: dict[str, dict[str, Any]], title: str) -> None:
    keys = [k for k in ("accuracy", "hit@5", "citation_precision") if any(m.get(k) is not None for m in by_type.values())]
    types = list(by_type)
    fig, ax = _figure(max(6.4, 0.9 * len(types) + 2), 4.2)
    width = 0.8 / max(len(keys), 1)
    for i, key in enumerate(keys):
        xs = [t + i * width - 0.4 + width / 2 for t in range(len(types))]
        ax.bar(xs, [by_type[t].get(key) or 0.0 for t in types], width, label=key)
    ax.set_xticks(range(len(types)), [f"{t}\n(n={by_type[t]['questions']})" for t in types], fontsize=8)
    ax.set(ylabel="share", ylim=(0, 1.05), title=f"by question type: {title}")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def write_plots(out_dir: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    """Write the plots into ``out_dir``; returns their file names."""
    title = summary["label"]
    written = []
    if summary["metrics"].get("hit_curve"):
        plot_hit_curve(out_dir / HIT_CURVE, summary["metrics"]["hit_curve"], title)
        written.append(HIT_CURVE)
    if rows:
        plot_latency(out_dir / LATENCY, rows, title)
        written.append(LATENCY)
    if summary["by_type"]:
        plot_by_type(out_dir / BY_TYPE, summary["by_type"], title)
        written.append(BY_TYPE)
    return written


def plot_refusal_curve(path: Path, curves: dict[str, tuple[list[float], list[float]]], chosen: dict[str, tuple[float, float]],
                       title: str) -> None:
    """The refusal model's trade-off per domain: the share of right answers refused (x) against the
    share of questions without an answer refused (y), as the threshold rises; ``chosen`` marks each
    domain's point at the trained threshold."""
    fig, ax = _figure(6.4, 4.6)
    for name, (xs, ys) in curves.items():
        (line,) = ax.plot(xs, ys, label=name)
        if name in chosen:
            ax.plot(*chosen[name], marker="o", color=line.get_color())
    ax.set(xlabel="right answers refused", ylabel="questions without an answer refused", xlim=(0, 0.4), ylim=(0, 1.02),
           title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def plot_paired(path: Path, rows: list, label_a: str, label_b: str) -> None:
    """eval.paired's rows (``Paired``): both runs' share right per setting, the significant pairs marked."""
    fig, ax = _figure(7.0, 0.28 * len(rows) + 1.4)
    y = list(range(len(rows)))
    ax.barh([v + 0.2 for v in y], [r.right_a / r.questions for r in rows], height=0.4, label=label_a)
    ax.barh([v - 0.2 for v in y], [r.right_b / r.questions for r in rows], height=0.4, label=label_b)
    for v, r in zip(y, rows):
        if r.p < 0.05:
            ax.annotate(f"p={r.p:.2g}", (1.0, v), xytext=(3, -3), textcoords="offset points", fontsize=7)
    ax.set(yticks=y, yticklabels=[r.setting for r in rows], xlim=(0, 1.12), xlabel="share right (answered right or rightly refused)",
           title=f"{label_a} vs {label_b}, paired by question")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def plot_threshold_sweep(path: Path, curve: list, marks: list[float], title: str) -> None:
    """eval.threshold_sweep's points (``SweepPoint``): the three shares against the threshold, ``marks`` dashed."""
    fig, ax = _figure(7.0, 4.2)
    ts = [p.threshold for p in curve]
    first = curve[0]
    ax.plot(ts, [p.answered_right for p in curve], label=f"answerable: answered right (n={first.answerable})")
    ax.plot(ts, [p.unanswerable_refused for p in curve], label=f"written unanswerable: refused (n={first.unanswerable})")
    ax.plot(ts, [p.nogold_refused for p in curve], label=f"without the gold passage: refused (n={first.nogold})")
    for t in marks:
        ax.axvline(t, color="grey", lw=0.8, ls="--")
        ax.annotate(f"{t:.3g}", (t, 0.0), xytext=(2, 3), textcoords="offset points", rotation=90, fontsize=7)
    ax.set(xlabel="Chinese refusal threshold (simulated on the run)", ylabel="share", ylim=(0, 1.02),
           title=f"raised threshold: {title}")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
