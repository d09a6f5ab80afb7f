"""schemathesis against the checked-in schema (docs/openapi.json) on the real server: every ``/v1``
operation, valid and invalid requests; no response may be a 5xx, and every response must be
documented (status, content type, headers) and match its schema. Bounded: a few dozen examples an
operation (about a minute or two on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]

SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "docs" / "openapi.json")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 100


@SCHEMA.include(path_regex="^/v1/").parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_api_keeps_to_its_schema(case, server):
    case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=120)
