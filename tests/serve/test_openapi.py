"""The OpenAPI schema: the served one is the checked-in ``docs/openapi.json`` (regenerate it with
``make openapi``), and it declares what the server answers: response models, the SSE stream, and
every error in OpenAI's shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chat.server.busy import ANSWER_ROUTES

pytestmark = [pytest.mark.server, pytest.mark.slow]

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ERROR_REF = "#/components/schemas/ErrorResponse"


def test_the_served_schema_is_the_checked_in_one(server):
    served = httpx.get(server.api + "/openapi.json", timeout=30).json()
    assert served == json.loads(CHECKED_IN.read_text(encoding="utf-8")), \
        "docs/openapi.json is stale: run `make openapi` (python -m chat.server.schema > docs/openapi.json)"


def test_the_command_prints_the_served_schema(server):
    printed = subprocess.run([sys.executable, "-m", "chat.server.schema"], env=server.env, capture_output=True,
                             text=True, timeout=300, check=True).stdout
    assert json.loads(printed) == httpx.get(server.api + "/openapi.json", timeout=30).json()


def test_every_api_operation_declares_its_errors_in_openais_shape():
    schema = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    operations = [(method.upper(), path, op) for path, item in schema["paths"].items() if path.startswith("/v1/")
                  for method, op in item.items()]
    assert {("GET", "/v1/models"), *ANSWER_ROUTES} <= {(m, p) for m, p, _ in operations}
    for method, path, op in operations:
        responses = op["responses"]
        errors = {int(s) for s in responses if int(s) >= 400}
        assert 401 in errors, (method, path)
        if "requestBody" in op:
            assert {400, 413, 422} <= errors, (method, path)
        if (method, path) in ANSWER_ROUTES:
            assert {429, 503} <= errors and "Retry-After" in responses["429"]["headers"], (method, path)
        for status in errors:
            assert responses[str(status)]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
        assert any(200 <= int(s) < 300 and responses[s].get("content") for s in responses), (method, path)
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(chat) == {"application/json", "text/event-stream"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
