"""``ragchat eval``: measure the chatbot on an eval set, compare two runs, run the quality gate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ragchat.cli.options import EXIT_ERROR, answerer_option, k_option, settings_from


@click.group(name="eval")
def eval_group() -> None:
    """Measure answer quality on an eval set (the same answer path as `ask`)."""


@eval_group.command()
@click.argument("eval_set", metavar="SET")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for results.jsonl, summary.json, report.md and the plots.")
@answerer_option
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Evaluate this existing index, as the app opens it. Default: an in-memory index "
              "of the set's documents (the user's index is not touched).")
@click.option("--kb", default=None, metavar="NAME",
              help="Evaluate this knowledge base's index, as the app opens it (instead of --index-dir).")
@k_option
@click.option("--recipe", type=click.Choice(["ragchat", "bm25", "dense", "langchain"]), default="ragchat",
              show_default=True, help="ragchat (as configured), or an anchor: bm25, dense, langchain "
              "(RecursiveCharacterTextSplitter 1000/200 + dense FAISS).")
@click.option("--docs", type=click.Path(exists=True, path_type=Path), multiple=True,
              help="Documents to index for a JSONL set (repeatable). Default: the bundled report.")
@click.option("--distractors", is_flag=True, help="Also index the 848 CMRC 2018 dev passages.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="SQuAD-style sets: a fixed random sample of this many questions.")
@click.option("--split", type=click.Choice(["train", "test"]), default=None,
              help="SQuAD-style sets: one side of the fixed CMRC 2018 dev split (eval/sets/cmrc_dev_split.json).")
@click.option("--no-gold", is_flag=True,
              help="SQuAD-style sets: ask each question with its own passage left out (all should be refused).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Embedding cache. Default: $RAGCHAT_EVAL_CACHE, else ~/.cache/ragchat/eval.")
@click.pass_context
def run(ctx: click.Context, eval_set: str, out_dir: Path, answerer: str | None, index_dir: Path | None,
        k: int | None, recipe: str, docs: tuple[Path, ...], distractors: bool, limit: int | None,
        split: str | None, no_gold: bool, cache_dir: Path | None, kb: str | None) -> None:
    """Ask every question of SET (a .jsonl set or a SQuAD-style .json) and score the answers."""
    from eval.report import metrics_table
    from eval.runner import RunOptions, run_eval
    from eval.sets import load_set

    if kb is not None:
        if index_dir is not None:
            raise click.UsageError("give --kb or --index-dir, not both")
        from ragchat.kbs import Registry

        index_dir = Registry(settings_from(ctx)).get(kb).index_dir
    questions = load_set(Path(eval_set), limit=limit, split=split, no_gold=no_gold)
    options = RunOptions(answerer=answerer, k=k, recipe=recipe, docs=docs, distractors=distractors,
                         index_dir=index_dir, cache_dir=cache_dir)
    summary = run_eval(questions, settings_from(ctx), options, out_dir)
    click.echo(metrics_table(summary))
    click.echo(f"\nwrote {out_dir}/report.md, results.jsonl, summary.json and {len(summary['plots'])} plots")


@eval_group.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
def compare(run_a: Path, run_b: Path) -> None:
    """Metric deltas between two runs (B − A) and the items that flipped."""
    from eval.report import compare_markdown, load_run

    click.echo(compare_markdown(load_run(run_a), load_run(run_b)), nl=False)


@eval_group.command()
@click.option("--thresholds", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Default: eval/thresholds.toml.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".ragchat/eval-gate"), show_default=True)
@click.pass_context
def gate(ctx: click.Context, thresholds: Path | None, out_dir: Path) -> None:
    """The CI quality gate: the report dev set (alone and with distractors) and the held-out sets, against the thresholds."""
    from eval.gate import THRESHOLDS, run_gate, table

    checks, _ = run_gate(thresholds or THRESHOLDS, out_dir, settings=settings_from(ctx))
    click.echo(table(checks))
    failed = [c for c in checks if not c.passed]
    if failed:
        click.secho(f"quality gate FAILED: {len(failed)} of {len(checks)} checks", fg="red", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"quality gate passed: {len(checks)} checks")
