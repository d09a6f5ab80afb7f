"""The app factory: the API under ``/v1``, ``/healthz``, ``/readyz``, and the Gradio UI at ``/``."""

from __future__ import annotations

import time

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from chat.conversations import ConversationStore, open_store
from chat.server import conversations_api, errors, native, openai_api, schema
from chat.server.busy import Busy
from chat.server.models import Status
from chat.server.middleware import BodyLimit, RequestLog, RequireToken
from chat.ui import app as ui
from chat.ui import assets
from chat.ui.documents import Library
from ragchat import __version__


def create_app(library: Library, with_ui: bool = True, conversations: ConversationStore | None = None) -> FastAPI:
    """The server over ``library`` (started by the caller; ``/readyz`` says when it is loaded).
    ``conversations``: the store; by default the one of the settings (None when they are off)."""
    settings = library.settings
    if conversations is None:
        conversations = open_store(settings)  # a bad URL or an unreachable database fails here
    app = FastAPI(title="ragchat", version=__version__, docs_url="/v1/docs", redoc_url=None,
                  openapi_url="/v1/openapi.json")
    app.state.settings = settings
    app.state.library = library
    app.state.started = time.time()
    app.state.conversations = conversations
    errors.install(app)
    schema.install(app)

    @app.get("/healthz", response_model=Status, response_model_exclude_none=True)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Status, responses={503: {"model": Status, "description": "Not ready"}})
    def readyz() -> JSONResponse:
        if not library.ready:
            return JSONResponse({"status": "loading"}, status_code=503)
        if library.error is not None:
            return JSONResponse({"status": "failed", "error": str(library.error)}, status_code=503)
        return JSONResponse({"status": "ready"})

    for router in (openai_api.router, native.router, conversations_api.router):
        app.include_router(router, prefix="/v1")
    app.add_middleware(Busy, max_concurrent=settings.serve.max_concurrent, max_waiting=settings.serve.max_waiting)
    app.add_middleware(BodyLimit, limit=settings.serve.max_body_kb * 1024)
    app.add_middleware(RequireToken, tokens=settings.serve.tokens)  # runs before BodyLimit
    app.add_middleware(RequestLog)  # outermost: it logs the 413s too
    if with_ui:  # last: the mount at "/" takes every path the routes above do not
        demo = ui.build_app(library, conversations)
        demo.queue(default_concurrency_limit=settings.ui.concurrency_limit)
        auth = ui.auth_from_settings(settings)
        app = gr.mount_gradio_app(
            app, demo, path="/", auth=auth,
            auth_message="ragchat: log in to ask about the documents." if auth else None,
            max_file_size=int(settings.ui.max_upload_mb * 2**20), show_error=False, ssr_mode=False,
            run_history=False, footer_links=["api", "settings"], theme=ui.theme(), css=assets.CSS,
            head=assets.HEAD,
        )
    return app
