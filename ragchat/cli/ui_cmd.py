"""``ragchat ui``: the Gradio chat UI on the configured index (the bundled report by default)."""

from __future__ import annotations

from pathlib import Path

import click

from ragchat.cli.options import index_dir_option, settings_from
from ragchat.net import is_loopback


@click.command()
@click.option("--host", default=None, help="Address to listen on. Default: ui.host (127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port. Default: ui.port (7860).")
@index_dir_option
@click.pass_context
def ui(ctx: click.Context, host: str | None, port: int | None, index_dir: Path | None) -> None:
    """Open the chat UI in the browser at http://HOST:PORT (the index is built on first run)."""
    from chat.conversations import open_store
    from chat.ui.app import auth_from_settings, launch
    from chat.ui.documents import Library

    settings = settings_from(ctx)
    if index_dir is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index_dir})})
    host = host or settings.ui.host
    port = port or settings.ui.port
    auth = auth_from_settings(settings)
    if auth is None and not is_loopback(host):
        click.secho(f"warning: serving on {host} without a login; set ui.auth_username and "
                    f"${settings.ui.auth_password_env} for a shared deployment", fg="yellow", err=True)
    conversations = open_store(settings)  # a bad URL or an unreachable database: one line, exit 1, now
    library = Library(settings)
    library.start()
    if library.first_build:
        click.echo("No index yet: building it from the corpus (the bundled report) in the background; "
                   "the page shows when it is ready.", err=True)
    click.echo(f"ragchat UI: http://{host}:{port}  (documents are saved in {settings.documents_dir})", err=True)
    launch(settings, host=host, port=port, library=library, conversations=conversations)
