"""What the commands of ``ragchat`` share: exit codes, the settings of an invocation and the
common options. Commands import this module, and ``ragchat.cli.main`` imports the commands, so
there is no import circle."""

from __future__ import annotations

from pathlib import Path

import click

from ragchat import logs
from ragchat.paths import file_in_the_way
from ragchat.settings import MAX_K, Settings, load_settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PARTIAL = 3  # the job ran, but some inputs were skipped


def settings_from(ctx: click.Context) -> Settings:
    """The settings for this invocation, loaded once."""
    root = ctx.find_root()
    if "settings" not in root.obj:
        root.obj["settings"] = load_settings(root.obj.get("config"))
        logs.mask_secrets(logs.secrets_of(root.obj["settings"]))  # never in a log line, at any level
    return root.obj["settings"]


class _Folder(click.Path):
    """A folder that exists or can be made: not a file, and not under one."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        folder = super().convert(value, param, ctx)
        blocker = file_in_the_way(Path(folder))
        if blocker is not None:
            self.fail(f"{folder} is under {blocker}, which is a file; give a folder", param, ctx)
        return folder


index_dir_option = click.option(
    "--index-dir",
    type=_Folder(),
    default=None,
    help="Index folder. Default: index.dir from the settings (<home>/index).",
)
kb_option = click.option(
    "--kb", "kb", default=None, metavar="NAME",
    help="Knowledge base. Default: the kb setting (default). `ragchat kb list` lists them.",
)


def settings_for(ctx: click.Context, kb: str | None, index_dir: Path | None = None) -> Settings:
    """The settings of this invocation for the knowledge base ``kb`` (default: the ``kb`` setting),
    or for the index folder ``index_dir`` (the two exclude each other). An unknown KB raises
    :class:`ragchat.errors.KnowledgeBaseNotFoundError` (one line, exit code 1)."""
    from ragchat.kbs import kb_settings

    settings = settings_from(ctx)
    if index_dir is not None:
        if kb is not None:
            raise click.UsageError("give --kb or --index-dir, not both")
        return settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index_dir})})
    return kb_settings(settings, kb)


def served_settings(ctx: click.Context, kb: str | None, index_dir: Path | None) -> tuple[Settings, Settings]:
    """For ``serve`` and ``ui``: (the settings, with ``kb`` as the knowledge base used when none is
    named; the settings of that KB). ``index_dir`` replaces the default KB's index folder."""
    from ragchat.kbs import check_name, kb_settings

    settings = settings_from(ctx)
    if index_dir is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index_dir})})
    if kb is not None:
        settings = settings.model_copy(update={"kb": check_name(kb)})
    return settings, kb_settings(settings, settings.kb)


answerer_option = click.option(
    "--answerer",
    type=click.Choice(["extractive", "llm"]),
    default=None,
    help="extractive (default; no model) or llm (the endpoint in [llm] settings).",
)


class _K(click.ParamType):
    """``--k``: checked by the service's own check (:func:`chat.request.checked_k`), before any work."""

    name = "integer"

    def convert(self, value, param, ctx):
        from chat.request import checked_k
        from ragchat.errors import InvalidRequestError

        try:
            number = int(value)
        except (TypeError, ValueError):
            number = value  # "1.5", "abc": checked_k says what is wrong
        try:
            return checked_k(number)
        except InvalidRequestError as exc:
            self.fail(str(exc), param, ctx)


k_option = click.option("--k", type=_K(), default=None, help=f"Passages to retrieve (1 to {MAX_K}).")
