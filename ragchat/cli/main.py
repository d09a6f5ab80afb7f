"""``ragchat``: the command group, its shared options and its error handling."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ragchat import __version__
from ragchat.errors import RagchatError
from ragchat.settings import Settings, load_settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PARTIAL = 3  # the job ran, but some inputs were skipped


class _Group(click.Group):
    """Turns library errors into one-line messages and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RagchatError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="ragchat")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (TOML). Default: $RAGCHAT_CONFIG, else ./ragchat.toml if present.",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Offline Q&A over reports, with answers cited to the exact passage."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


def settings_from(ctx: click.Context) -> Settings:
    """The settings for this invocation, loaded once."""
    root = ctx.find_root()
    if "settings" not in root.obj:
        root.obj["settings"] = load_settings(root.obj.get("config"))
    return root.obj["settings"]


def _register() -> None:
    from ragchat.cli import ask_cmd, config_cmd, index_cmd, ingest_cmd

    cli.add_command(ask_cmd.ask)
    cli.add_command(ask_cmd.chat)
    cli.add_command(ingest_cmd.ingest)
    cli.add_command(index_cmd.index)
    cli.add_command(config_cmd.config)
    cli.add_command(__import__("ragchat.cli.ui_cmd", fromlist=["ui"]).ui)
    cli.add_command(__import__("ragchat.cli.eval_cmd", fromlist=["eval_group"]).eval_group)


_register()


def main() -> None:
    cli(prog_name="ragchat")
