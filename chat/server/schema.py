"""The API's OpenAPI schema, exact enough for schemathesis to hold the server to it.

FastAPI documents the routes and their response models; :func:`openapi` then adds, to every ``/v1``
operation (new routes included), the errors the server's own machinery can answer, all in OpenAI's
error shape (:class:`chat.server.models.ErrorResponse`):

* 401 everywhere (``serve.tokens``); 403 on the routes that need an admin token
  (:func:`chat.server.auth.is_admin_route`); 400, 413 and 422 where there is a body; 422 where
  there are parameters, 404 where there are path parameters;
* 409 (an empty KB), 429 and 503 on the answer routes (:data:`chat.server.busy.ANSWER_ROUTES`);
* any other error a route declares itself (``responses=errors(404, 503)``) gets the error shape too.

The schema is checked in as ``docs/openapi.json``; regenerate it with
``python -m chat.server.schema > docs/openapi.json`` (or ``make openapi``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from chat.server.auth import is_admin_route
from chat.server.busy import ANSWER_ROUTES
from chat.server.models import ErrorResponse

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
DESCRIPTIONS = {
    400: "Bad request: the body is not JSON, no user message, an empty question, a malformed history",
    401: "No bearer token, or a wrong one (when `serve.tokens` is set)",
    403: "Not allowed: a read-only token (`serve.tokens`) on a route that changes knowledge bases or documents",
    404: "Unknown model, knowledge base or object",
    409: "Conflicts with the knowledge base's state (it exists, it is protected, it holds no documents)",
    413: "The request body is larger than `serve.max_body_kb`",
    422: "A field of the wrong type or out of range",
    429: "Busy: `serve.max_concurrent` answers computing and `serve.max_waiting` waiting; see `Retry-After`",
    503: "The index is still loading, or cannot be opened; or the conversation database failed",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers these errors itself (their shape is added here)."""
    return {status: {"description": DESCRIPTIONS.get(status, "Error")} for status in statuses}


def install(app: FastAPI) -> None:
    """Serve :func:`openapi` at the app's ``openapi_url``."""
    app.openapi = lambda: openapi(app)  # type: ignore[method-assign]


def openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorResponse"] = error_schema
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if path.startswith("/v1/"):
                    _document_errors(method.upper(), path, operation)
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, replaced above
            components.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _document_errors(method: str, path: str, operation: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    statuses = {401}
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if (method, path) in ANSWER_ROUTES:
        statuses |= {409, 429, 503}
    if is_admin_route(method, path):
        statuses.add(403)
    responses = operation.setdefault("responses", {})
    statuses |= {int(s) for s in responses if s.isdigit() and int(s) >= 400}
    for status in sorted(statuses):
        entry = {"description": responses.get(str(status), {}).get("description") or DESCRIPTIONS.get(status, "Error"),
                 "content": {"application/json": {"schema": ERROR_REF}}}
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying",
                                                "schema": {"type": "string"}}}
        responses[str(status)] = entry
    operation["responses"] = dict(sorted(responses.items()))


def main() -> None:
    """Print the schema of the API (what ``/v1/openapi.json`` serves), without loading any index."""
    from chat.server.app import create_app
    from chat.ui.documents import Library
    from ragchat.settings import load_settings

    app = create_app(Library(load_settings()), with_ui=False)
    sys.stdout.write(json.dumps(app.openapi(), ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
