"""What the commands of ``ragchat`` share: exit codes, the settings of an invocation and the
common options. Commands import this module, and ``ragchat.cli.main`` imports the commands, so
there is no import circle."""

from __future__ import annotations

from pathlib import Path

import click

from ragchat.settings import Settings, load_settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PARTIAL = 3  # the job ran, but some inputs were skipped


def settings_from(ctx: click.Context) -> Settings:
    """The settings for this invocation, loaded once."""
    root = ctx.find_root()
    if "settings" not in root.obj:
        root.obj["settings"] = load_settings(root.obj.get("config"))
    return root.obj["settings"]


index_dir_option = click.option(
    "--index-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index folder. Default: index.dir from the settings (<home>/index).",
)
answerer_option = click.option(
    "--answerer",
    type=click.Choice(["extractive", "llm"]),
    default=None,
    help="extractive (default; no model) or llm (the endpoint in [llm] settings).",
)
k_option = click.option("--k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve.")
