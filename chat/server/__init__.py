"""``ragchat serve``: one FastAPI app with the Gradio UI at ``/``, the HTTP API under ``/v1``,
``/healthz`` and ``/readyz``.

* :mod:`chat.server.app` builds the app (the factory) and the request middleware;
* :mod:`chat.server.openai_api` is the OpenAI-compatible part (``/v1/models``, ``/v1/chat/completions``);
* :mod:`chat.server.native` is ``/v1/ask``;
* :mod:`chat.server.errors` turns every error into OpenAI's error shape;
* :mod:`chat.server.auth` checks the bearer tokens and refuses a shared address without them;
* :mod:`chat.server.middleware` applies the tokens, the body limit and the request log;
* :mod:`chat.server.busy` bounds the answers computed and waiting (429 above);
* :mod:`chat.server.models` and :mod:`chat.server.schema` make the OpenAPI schema exact (docs/openapi.json);
* :mod:`chat.server.load` and :mod:`chat.server.bench_load` are the load test (``make bench-serve``).

(In ``chat`` rather than a top-level ``serve`` package: a generic top-level name could clash with
another distribution's, and this way the wheel picks it up with the rest of ``chat``.)
"""
