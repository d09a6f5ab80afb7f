"""``ragchat conversations``: list, show, export and delete the saved conversations (every user's:
this is the machine's owner at the command line)."""

from __future__ import annotations

import click

from ragchat.cli.options import settings_from


def _store(ctx: click.Context):
    from chat.conversations import open_store

    store = open_store(settings_from(ctx))
    if store is None:
        raise click.ClickException("conversations are not stored (conversations.enabled is off)")
    return store


@click.group()
def conversations() -> None:
    """Saved conversations (the UI's, the API's and `ragchat chat`'s)."""


@conversations.command("list")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.pass_context
def list_(ctx: click.Context, limit: int, offset: int) -> None:
    """The conversations, the most recently changed first: id, last change, turns, user, title."""
    page = _store(ctx).list(offset=offset, limit=limit)
    for s in page.items:
        user = s.user or "-"
        click.echo(f"{s.id}  {s.updated_at:%Y-%m-%d %H:%M}  {s.n_turns:>3} turns  {user:<12}  {s.title}")
    if page.has_more:
        click.echo(f"(more: --offset {offset + limit})", err=True)


@conversations.command("show")
@click.argument("conversation_id", metavar="ID")
@click.pass_context
def show(ctx: click.Context, conversation_id: str) -> None:
    """Print a conversation as Markdown (questions, answers, numbered sources)."""
    from chat.conversations.export import to_markdown

    click.echo(to_markdown(_store(ctx).get(conversation_id)), nl=False)


@conversations.command("export")
@click.argument("conversation_id", metavar="ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write. Default: conversation-ID.md here.")
@click.pass_context
def export(ctx: click.Context, conversation_id: str, output: str | None) -> None:
    """Write a conversation as a Markdown file."""
    from pathlib import Path

    from chat.conversations.export import to_markdown

    text = to_markdown(_store(ctx).get(conversation_id))
    path = Path(output or f"conversation-{conversation_id}.md")
    path.write_text(text, encoding="utf-8")
    click.echo(str(path))


@conversations.command("delete")
@click.argument("conversation_id", metavar="ID")
@click.pass_context
def delete(ctx: click.Context, conversation_id: str) -> None:
    """Delete a conversation."""
    _store(ctx).delete(conversation_id)
    click.echo(f"deleted {conversation_id}")
