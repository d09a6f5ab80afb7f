"""``ragchat ingest``: files to chunks.jsonl."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ragchat.cli.options import EXIT_PARTIAL, settings_from


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out", "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one chunk per line to this JSONL file ('-' for standard output).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on standard error.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], out: Path | None, progress: bool) -> None:
    """Load, clean and split PATHS (files or folders) into chunks.

    With no PATHS, ingests the configured corpus (the bundled report by default).
    Bad files are reported and skipped; the exit code is then 3. A PATH that does not
    exist stops the command before anything is read (exit code 1), even with other PATHS.
    """
    from ingest.pipeline import ingest_paths, require_inputs

    settings = settings_from(ctx)
    targets = paths or settings.corpus_paths
    require_inputs(targets)
    result = ingest_paths(targets, settings.ingest, settings.chunking, progress=progress)
    if out is not None:
        _write_jsonl(result.chunks, out)
    click.echo(
        f"documents: {len(result.documents)}  chunks: {len(result.chunks)}  "
        f"tokens: {result.n_tokens}  skipped: {len(result.skipped)}",
        err=out is not None and str(out) == "-",
    )
    for item in result.skipped:
        click.secho(f"skipped: {item.reason}", fg="yellow", err=True)
    if result.skipped:
        sys.exit(EXIT_PARTIAL)


def _write_jsonl(chunks, out: Path) -> None:
    lines = (json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks)
    if str(out) == "-":
        sys.stdout.writelines(lines)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.writelines(lines)
    tmp.replace(out)
