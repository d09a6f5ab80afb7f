"""``ragchat index``: add, remove, rebuild, status."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ragchat.cli.options import EXIT_PARTIAL, index_dir_option, settings_from



def _settings(ctx: click.Context, index_dir: Path | None):
    settings = settings_from(ctx)
    if index_dir is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index_dir})})
    return settings


def _run(ctx, index_dir, **change) -> None:
    from index.models import embeddings_from_settings
    from index.update import update_index

    settings = _settings(ctx, index_dir)
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), progress=True, **change)
    click.echo(report.summary())
    for item in report.skipped:
        click.secho(f"skipped: {item.reason}", fg="yellow", err=True)
    if report.skipped:
        sys.exit(EXIT_PARTIAL)


@click.group()
def index() -> None:
    """Build and change the index (FAISS + BM25 + chunk store)."""


@index.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_dir_option
@click.pass_context
def add(ctx: click.Context, paths: tuple[Path, ...], index_dir: Path | None) -> None:
    """Add or update documents (files or folders). Unchanged ones are skipped.

    Files that cannot be read are reported and skipped (exit code 3). A PATH that does not
    exist stops the command before the index is touched (exit code 1), even with other PATHS."""
    from ingest.pipeline import require_inputs

    require_inputs(paths)
    _run(ctx, index_dir, add=paths)


@index.command()
@click.argument("targets", nargs=-1, required=True)
@index_dir_option
@click.pass_context
def remove(ctx: click.Context, targets: tuple[str, ...], index_dir: Path | None) -> None:
    """Remove documents, named by document id or path."""
    _run(ctx, index_dir, remove=targets)


@index.command()
@index_dir_option
@click.pass_context
def rebuild(ctx: click.Context, index_dir: Path | None) -> None:
    """Re-chunk and re-embed every document (after a settings or model change).

    With no index yet, builds one from the configured corpus."""
    from ragchat.errors import IndexNotFoundError
    from index.store import live_version

    settings = _settings(ctx, index_dir)
    try:
        live_version(settings.index_dir)
    except IndexNotFoundError:
        _run(ctx, index_dir, add=settings.corpus_paths)
        return
    _run(ctx, index_dir, rebuild=True)


@index.command()
@index_dir_option
@click.pass_context
def status(ctx: click.Context, index_dir: Path | None) -> None:
    """Documents, chunks, model, size on disk, and when it was built."""
    from index.store import index_size_bytes, live_version, read_manifest

    settings = _settings(ctx, index_dir)
    folder = live_version(settings.index_dir)
    manifest = read_manifest(folder)
    docs = manifest.get("documents", {})
    click.echo(f"index:      {settings.index_dir} ({folder.name})")
    click.echo(f"built:      {manifest['built_at']}")
    click.echo(f"model:      {manifest['embedding']['model_id']} (dimension {manifest['embedding']['dimension']})")
    click.echo(f"faiss:      {manifest['faiss']['kind']}, {manifest['faiss']['rows']} rows")
    click.echo(f"chunking:   {manifest['chunking']['chunk_tokens']} tokens, overlap {manifest['chunking']['overlap_tokens']}")
    click.echo(f"documents:  {len(docs)}")
    click.echo(f"chunks:     {manifest['n_chunks']}")
    click.echo(f"size:       {index_size_bytes(folder) / 2**20:.2f} MiB")
    for doc_id, rec in sorted(docs.items(), key=lambda kv: kv[1]["source"]):
        click.echo(f"  {doc_id}  {rec['n_chunks']:>5} chunks  {rec['n_chars']:>8} chars  {rec['indexed_at']}  {rec['source']}")
