"""``ragchat index``: add, remove, rebuild, verify, status."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ragchat.cli.options import EXIT_ERROR, EXIT_PARTIAL, index_dir_option, kb_option, settings_for



def _settings(ctx: click.Context, index_dir: Path | None):
    return settings_for(ctx, ctx.params.get("kb"), index_dir)


wait_option = click.option(
    "--wait", "wait", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
    help="When another process is changing the index, wait this long for it instead of failing at once.",
)


def _say_waiting(wait: float):
    def say(holder: str) -> None:
        click.secho(f"process {holder} is changing the index; waiting up to {wait:g} s", err=True)

    return say


def _run(ctx, index_dir, wait: float, **change) -> None:
    from index.models import embeddings_from_settings
    from index.update import update_index

    settings = _settings(ctx, index_dir)
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), progress=True,
                          wait=wait, on_wait=_say_waiting(wait), **change)
    if report.repaired:
        click.secho(f"repaired: the live version was damaged ({report.repaired}); "
                    "rebuilt from the stored document texts", fg="yellow", err=True)
    for note in report.notes:
        click.secho(f"warning: {note}", fg="yellow", err=True)
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
@kb_option
@index_dir_option
@wait_option
@click.pass_context
def add(ctx: click.Context, kb: str | None, paths: tuple[Path, ...], index_dir: Path | None, wait: float) -> None:
    """Add or update documents (files or folders). Unchanged ones are skipped.

    Files that cannot be read are reported and skipped (exit code 3). A PATH that does not
    exist stops the command before the index is touched (exit code 1), even with other PATHS."""
    from ingest.pipeline import require_inputs

    require_inputs(paths)
    _run(ctx, index_dir, wait, add=paths)


@index.command()
@click.argument("targets", nargs=-1, required=True)
@kb_option
@index_dir_option
@wait_option
@click.pass_context
def remove(ctx: click.Context, kb: str | None, targets: tuple[str, ...], index_dir: Path | None, wait: float) -> None:
    """Remove documents, named by document id or path."""
    _run(ctx, index_dir, wait, remove=targets)


@index.command()
@kb_option
@index_dir_option
@wait_option
@click.pass_context
def rebuild(ctx: click.Context, kb: str | None, index_dir: Path | None, wait: float) -> None:
    """Re-chunk and re-embed every document from its stored text (after a settings or model
    change, or to repair damage: the chunk, vector and keyword files are never read).

    With no index yet, builds one from the configured corpus."""
    from index.store import versions

    settings = _settings(ctx, index_dir)
    if settings.index.backend == "faiss" and not versions(settings.index_dir):
        _run(ctx, index_dir, wait, add=settings.corpus_paths)
        return
    _run(ctx, index_dir, wait, rebuild=True)


@index.command()
@click.option("--to", "to", type=click.Choice(["milvus"]), required=True, help="The backend to copy the index to.")
@click.option("--replace", is_flag=True, help="Drop what the Milvus collection holds first.")
@kb_option
@index_dir_option
@wait_option
@click.pass_context
def migrate(ctx: click.Context, to: str, replace: bool, kb: str | None, index_dir: Path | None,
            wait: float) -> None:
    """Copy the live FAISS index into Milvus (`index.milvus_uri`), vectors and all: nothing is
    embedded again. Then set `index.backend = "milvus"` (docs/scale.md). Holds the index's writer
    locks meanwhile, as `index add` does."""
    from index.milvus.migrate import migrate_to_milvus

    done = migrate_to_milvus(_settings(ctx, index_dir), replace=replace, wait=wait, on_wait=_say_waiting(wait))
    click.echo(f"copied {done.documents} documents, {done.chunks} chunks into Milvus collection "
               f"{done.collection} at {done.uri} (generation {done.generation})")


@index.command()
@kb_option
@index_dir_option
@click.pass_context
def verify(ctx: click.Context, kb: str | None, index_dir: Path | None) -> None:
    """Check every file of every version against its checksum and read it in full (on Milvus:
    every row of the live generation against its state).

    Exits 1 when the live version is damaged (commands then answer from the newest intact
    older version; `ragchat index rebuild` repairs it)."""
    from index.store import verify_index

    settings = _settings(ctx, index_dir)
    if settings.index.backend == "milvus":
        _verify_milvus(settings)
        return
    checks = verify_index(settings.index_dir, settings.cache_dir)
    for check in checks:
        label = f"{check.version}{' (live)' if check.live else ''}"
        if check.problem:
            click.secho(f"{label}: DAMAGED: {check.problem}", fg="red")
        else:
            click.echo(f"{label}: ok")
    if any(c.live and c.problem for c in checks):
        sys.exit(EXIT_ERROR)


@index.command()
@kb_option
@index_dir_option
@click.pass_context
def status(ctx: click.Context, kb: str | None, index_dir: Path | None) -> None:
    """Documents, chunks, model, size on disk, and when it was built (on Milvus: the URI,
    collection and generation instead of the size).

    Exits 1 when the live version is damaged."""
    from index.store import index_size_bytes, live_version, load_snapshot, read_manifest
    from ragchat.errors import CorruptIndexError

    settings = _settings(ctx, index_dir)
    if settings.index.backend == "milvus":
        _status_milvus(settings)
        return
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
    try:  # the live version only, read in full as `verify` reads each version
        load_snapshot(settings.index_dir, cache_dir=settings.cache_dir, fallback=False).close()
    except CorruptIndexError as damage:
        click.secho(f"DAMAGED: {damage}", fg="red", err=True)
        sys.exit(EXIT_ERROR)


def _status_milvus(settings) -> None:
    from index.milvus.verify import milvus_status

    st = milvus_status(settings)
    click.echo("backend:    milvus")
    click.echo(f"uri:        {st.uri}")
    click.echo(f"token:      {st.token}")
    click.echo(f"collection: {st.collection} (and {st.collection}_meta)")
    click.echo(f"generation: {st.generation} ({'exact' if st.exact else 'not exact: a writer is at work or crashed'})")
    click.echo(f"model:      {st.model} (dimension {st.dimension})")
    click.echo(f"documents:  {len(st.documents)}")
    click.echo(f"chunks:     {st.chunks}")
    for doc_id, rec in sorted(st.documents.items(), key=lambda kv: kv[1]["source"]):
        click.echo(f"  {doc_id}  {rec['n_chunks']:>5} chunks  {rec['n_chars']:>8} chars  {rec['indexed_at']}  {rec['source']}")


def _verify_milvus(settings) -> None:
    from index.milvus.verify import verify_milvus

    check = verify_milvus(settings)
    label = f"{check.collection} generation {check.generation} (live, pointer {'exact' if check.exact else 'not exact'})"
    click.echo(f"{label}: {check.live_rows} live rows, {check.dead_rows} rows of other generations")
    for problem in check.problems:
        click.secho(f"DAMAGED: {problem}", fg="red")
    if check.problems:
        sys.exit(EXIT_ERROR)
    click.echo("ok")
