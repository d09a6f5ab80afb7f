"""The app factory: the API under ``/v1``, ``/healthz``, ``/readyz``, and the Gradio UI at ``/``."""

from __future__ import annotations

import time

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from chat.conversations import ConversationStore, open_store
from chat.server import conversations_api, errors, kbs_api, native, openai_api, schema
from chat.server.busy import Busy
from chat.server.jobs import Jobs
from chat.server.models import Status
from chat.server.middleware import BodyLimit, RequestLog, RequireToken
from chat.ui import app as ui
from chat.ui import assets
from chat.ui.documents import Library
from chat.ui.i18n import I18N
from chat.ui.libraries import Libraries
from ragchat import __version__

UPLOAD_PATHS = r"/v1/kbs/[^/]+/documents"


def create_app(libraries: Libraries | Library, with_ui: bool = True,
               conversations: ConversationStore | None = None) -> FastAPI:
    """The server over the knowledge bases of ``libraries`` (a single started :class:`Library` is
    served with the others of its home). ``/readyz`` follows the library of the server's KB.
    ``conversations``: the store; by default the one of the settings (None when they are off)."""
    if isinstance(libraries, Library):
        libraries = Libraries(libraries.settings, preloaded=libraries)
    settings = libraries.settings
    if conversations is None:
        conversations = open_store(settings)  # a bad URL or an unreachable database fails here
    app = FastAPI(title="ragchat", version=__version__, docs_url="/v1/docs", redoc_url=None,
                  openapi_url="/v1/openapi.json")
    app.state.settings = settings
    app.state.libraries = libraries
    app.state.jobs = Jobs()
    app.state.started = time.time()
    app.state.conversations = conversations
    errors.install(app)
    schema.install(app)

    @app.get("/healthz", response_model=Status, response_model_exclude_none=True)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Status, responses={503: {"model": Status, "description": "Not ready"}})
    def readyz() -> JSONResponse:
        library = libraries.get()
        if not library.ready:
            return JSONResponse({"status": "loading"}, status_code=503)
        if library.error is not None:
            return JSONResponse({"status": "failed", "error": str(library.error)}, status_code=503)
        return JSONResponse({"status": "ready"})

    for router in (openai_api.router, native.router, kbs_api.router, conversations_api.router):
        app.include_router(router, prefix="/v1")
    app.add_middleware(Busy, max_concurrent=settings.serve.max_concurrent, max_waiting=settings.serve.max_waiting)
    upload_limit = int(settings.serve.max_upload_files * settings.ui.max_upload_mb * 2**20) + 2**20  # + the form
    app.add_middleware(BodyLimit, limit=settings.serve.max_body_kb * 1024, upload_limit=upload_limit,
                       upload_paths=UPLOAD_PATHS)
    app.add_middleware(RequireToken, tokens=settings.serve.tokens,  # runs before BodyLimit
                       admin_tokens=settings.serve.admin_tokens)
    app.add_middleware(RequestLog)  # outermost: it logs the 413s too
    if with_ui:  # last: the mount at "/" takes every path the routes above do not
        demo = ui.build_app(libraries, conversations)
        demo.queue(default_concurrency_limit=settings.ui.concurrency_limit)
        auth = ui.auth_from_settings(settings)
        app = gr.mount_gradio_app(
            app, demo, path="/", auth=auth,
            auth_message=ui.AUTH_MESSAGE if auth else None,
            max_file_size=int(settings.ui.max_upload_mb * 2**20), show_error=False, ssr_mode=False,
            run_history=False, footer_links=["api", "settings"], theme=ui.theme(), css=assets.CSS,
            head=assets.HEAD, i18n=I18N,
        )
    return app
