"""``ragchat config``: show the effective settings, or their reference."""

from __future__ import annotations

import json

import click

from ragchat.cli.options import settings_from
from ragchat.settings import settings_reference


@click.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the effective settings as JSON (the server's bearer tokens and the database password masked)."""
    settings = settings_from(ctx)
    data = settings.model_dump(mode="json")
    data["serve"]["tokens"] = ["***"] * len(data["serve"]["tokens"])  # secrets are never printed
    if data["conversations"]["url"]:
        from chat.conversations.engine import safe_url

        data["conversations"]["url"] = safe_url(data["conversations"]["url"])  # without its password
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@config.command("doc")
def doc() -> None:
    """Print the Markdown reference of every key (docs/settings.md)."""
    click.echo(settings_reference(), nl=False)
