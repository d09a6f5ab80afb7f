"""``ragchat kb``: list, create and delete knowledge bases (see docs/serve.md, "Knowledge bases")."""

from __future__ import annotations

import click

from ragchat.cli.options import settings_from


@click.group()
def kb() -> None:
    """Knowledge bases: named indexes, each with its own documents, under <home>/kbs/<name>/."""


@kb.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """The knowledge bases, with their documents and chunks (the kb setting's one marked *)."""
    from index.store import live_version, read_manifest
    from ragchat.errors import IndexStoreError
    from ragchat.kbs import Registry

    settings = settings_from(ctx)
    for base in Registry(settings).list():
        try:
            manifest = read_manifest(live_version(base.index_dir))
            size = f"{len(manifest.get('documents', {}))} document(s), {manifest.get('n_chunks', 0)} chunks"
        except IndexStoreError:
            size = "empty"
        mark = "*" if base.name == settings.kb else " "
        click.echo(f"{mark} {base.name}  {size}  {base.index_dir.parent}")


@kb.command()
@click.argument("name")
@click.pass_context
def create(ctx: click.Context, name: str) -> None:
    """Create the empty knowledge base NAME (letters, digits, '-' and '_'; at most 64)."""
    from ragchat.kbs import Registry

    made = Registry(settings_from(ctx)).create(name)
    click.echo(f"created knowledge base {made.name!r}; add documents with `ragchat index add --kb {made.name} FILES`")


@kb.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
              help="When another process is changing its index, wait this long for it instead of failing.")
@click.pass_context
def delete(ctx: click.Context, name: str, yes: bool, wait: float) -> None:
    """Delete the knowledge base NAME with its index and documents (not the default one)."""
    from ragchat.errors import ProtectedKnowledgeBaseError
    from ragchat.kbs import Registry

    registry = Registry(settings_from(ctx))
    base = registry.get(name)
    if base.is_default:
        raise ProtectedKnowledgeBaseError("the default knowledge base cannot be deleted")
    if not yes:
        click.confirm(f"delete the knowledge base {base.name!r} and its documents?", abort=True)
    registry.delete(base.name, wait=wait)
    click.echo(f"deleted knowledge base {base.name!r}")
