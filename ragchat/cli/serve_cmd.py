"""``ragchat serve``: the UI at ``/`` and the HTTP API under ``/v1`` on one port (see docs/serve.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ragchat import logs
from ragchat.cli.options import index_dir_option, kb_option, served_settings


@click.command()
@click.option("--host", default=None, help="Address to listen on. Default: serve.host (127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port. Default: serve.port (8000).")
@click.option("--insecure", is_flag=True, help="Serve a non-loopback address without tokens (anyone may ask).")
@kb_option
@index_dir_option
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, insecure: bool, kb: str | None,
          index_dir: Path | None) -> None:
    """Serve the UI and the OpenAI-compatible API at http://HOST:PORT (the index is built on first run).

    Every knowledge base is served (`ragchat/<kb>` models); --kb is the one used when a request
    names none, and the one /readyz follows."""
    settings, kb_copy = served_settings(ctx, kb, index_dir)
    host = host or settings.serve.host
    port = port or settings.serve.port
    from chat.server.auth import check_bind

    check_bind(settings, host, insecure)  # before anything is loaded
    import uvicorn

    from chat.conversations import open_store
    from chat.server.app import create_app
    from chat.ui.app import auth_from_settings
    from chat.ui.documents import Library
    from chat.ui.libraries import Libraries

    auth_from_settings(settings)  # a login without its password fails now, in one line
    logs.serve_request_log(ctx.find_root().obj.get("log_level"))
    conversations = open_store(settings)  # a bad URL or an unreachable database: one line, exit 1, now
    library = Library(kb_copy)
    library.start()
    if library.first_build:
        click.echo("No index yet: building it from the corpus in the background; /readyz says when it is ready.",
                   err=True)
    app = create_app(Libraries(settings, preloaded=library), conversations=conversations)
    click.echo(f"ragchat: UI http://{host}:{port}/  API http://{host}:{port}/v1  "
               f"(tokens {'required' if settings.serve.tokens or settings.serve.admin_tokens else 'off'})", err=True)
    # uvicorn's loggers go through ragchat's one setup (log_config=None); the request log is ours
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, log_level=None)

