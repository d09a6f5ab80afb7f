"""``ragchat``: the command group, its shared options and its error handling."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ragchat import __version__, logs
from ragchat.cli import (
    ask_cmd, config_cmd, conversations_cmd, eval_cmd, index_cmd, ingest_cmd, kb_cmd, serve_cmd, ui_cmd,
)
from ragchat.cli.options import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, settings_from
from ragchat.errors import RagchatError

__all__ = ["cli", "main", "settings_from", "EXIT_OK", "EXIT_ERROR", "EXIT_PARTIAL"]


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
@click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS, case_sensitive=False),
    envvar=logs.ENV_VAR,
    default=None,
    help=f"What is logged on stderr. Default: ${logs.ENV_VAR}, else WARNING (`serve` logs its requests at INFO).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, log_level: str | None) -> None:
    """Offline Q&A over reports, with answers cited to the exact passage."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["log_level"] = log_level
    logs.setup_logging(log_level)


for command in (ask_cmd.ask, ask_cmd.chat, ingest_cmd.ingest, index_cmd.index, config_cmd.config, ui_cmd.ui,
                serve_cmd.serve, eval_cmd.eval_group, conversations_cmd.conversations, kb_cmd.kb):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="ragchat")
