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
    """Print the effective settings as JSON (the server's bearer tokens and the databases' passwords masked)."""
    from ragchat.dburl import safe_url

    settings = settings_from(ctx)
    data = settings.model_dump(mode="json")
    for key in ("tokens", "admin_tokens"):  # secrets are never printed
        data["serve"][key] = ["***"] * len(data["serve"][key])
    for section, key in (("conversations", "url"), ("index", "writer_lock_url")):
        if data[section][key]:
            data[section][key] = safe_url(data[section][key])  # without its password
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@config.command("doc")
def doc() -> None:
    """Print the Markdown reference of every key (docs/settings.md)."""
    click.echo(settings_reference(), nl=False)
