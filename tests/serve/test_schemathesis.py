"""schemathesis against the checked-in schema (docs/openapi.json) on the real server: every ``/v1``
operation (the multipart upload, the KB, document, job and conversation routes included), valid and
invalid requests; no response may be a 5xx, and every response must be documented (status, content
type, headers) and match its schema.

Generated path parameters are random strings, which would only ever reach the 404s. So about half
the cases are *aimed* (a hypothesis boolean drawn with the case): their ``kb``, ``doc``, ``job_id``
and ``conversation_id`` (path or body) name real objects of a throw-away knowledge base made for
this module (one indexed document, its upload job, a conversation in it), never the default KB that
the other tests of the session use. A case that may have destroyed one of them (a DELETE, an upload
into it) is followed by :meth:`Scratch.restore`, which makes it again, so the next cases still reach
real objects; the KBs and conversations that generated requests create are deleted after them
(the home stays as the other tests expect it), and the scratch KB at the end.

Deterministic (``derandomize=True``) and bounded (``MAX_EXAMPLES`` an operation; about two minutes
on 2 cores). To explore with other seeds: ``SCHEMATHESIS_EXPLORE=1 pytest tests/serve/test_schemathesis.py
--hypothesis-seed=N``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serve.conftest import Server

pytestmark = [pytest.mark.server, pytest.mark.slow]

SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "docs" / "openapi.json")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 60
EXPLORE = bool(os.environ.get("SCHEMATHESIS_EXPLORE"))  # then --hypothesis-seed picks the examples

KB = "schemathesis-scratch"
DOC = "scratch-note.txt"
DOC_TEXT = "临时笔记\n\n测试用的知识库里只有这一份文件：青石桥于2025年重修。\n".encode()


@dataclass
class Scratch:
    """The throw-away objects aimed cases name: a KB with one document, a job, a conversation."""

    api: str
    job: str = ""
    conversation: str = ""

    def make(self) -> None:
        if httpx.get(f"{self.api}/kbs/{KB}").status_code == 404:
            assert httpx.post(f"{self.api}/kbs", json={"name": KB}).status_code == 201
        names = {d["name"] for d in httpx.get(f"{self.api}/kbs/{KB}/documents", timeout=60).json()["data"]}
        if DOC not in names:
            accepted = httpx.post(f"{self.api}/kbs/{KB}/documents", files=[("files", (DOC, DOC_TEXT))], timeout=60)
            assert accepted.status_code == 202, accepted.text
            self.job = accepted.json()["id"]
            self._follow(self.job)
        if not self.conversation or httpx.get(f"{self.api}/conversations/{self.conversation}").status_code == 404:
            made = httpx.post(f"{self.api}/conversations", json={"title": "scratch", "model": f"ragchat/{KB}"})
            self.conversation = made.json()["id"]

    def _follow(self, job: str) -> None:
        deadline = time.monotonic() + 300
        while httpx.get(f"{self.api}/jobs/{job}").json()["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, f"job {job} did not end"
            time.sleep(0.1)

    def aim(self, case: schemathesis.Case) -> None:
        """Name the scratch objects in the case's path parameters and JSON body."""
        targets = {"kb": KB, "doc": DOC, "job_id": self.job, "conversation_id": self.conversation}
        for name in case.path_parameters or {}:
            if name in targets:
                case.path_parameters[name] = targets[name]
        if isinstance(case.body, dict) and case.media_type == "application/json":
            for name in ("kb", "conversation_id"):
                if name in case.body:
                    case.body[name] = targets[name]
            if "model" in case.body:
                case.body["model"] = f"ragchat/{KB}"
            if case.path == "/v1/kbs" and "name" in case.body:
                case.body["name"] = KB  # it exists: 409

    def restore(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
        """After a case that may have changed the scratch objects: let its upload job end (the next
        cases may follow it), make again whatever it deleted, and delete what it created."""
        upload = case.method.upper() == "POST" and case.path.endswith("/documents")
        if upload and response.status_code == 202:
            self.job = response.json()["id"]
            self._follow(self.job)
        if upload or case.method.upper() == "DELETE":
            self.make()
        made = response.json() if response.status_code == 201 else {}
        if case.path == "/v1/kbs" and made.get("name"):  # a KB of a generated name: the home stays as it was
            assert httpx.delete(f"{self.api}/kbs/{made['name']}", timeout=60).status_code == 200
        if case.path == "/v1/conversations" and made.get("id"):
            assert httpx.delete(f"{self.api}/conversations/{made['id']}").status_code == 200


@pytest.fixture(scope="module")
def scratch(server: Server) -> Iterator[Scratch]:
    made = Scratch(server.api)
    made.make()
    try:
        yield made
    finally:
        httpx.delete(f"{server.api}/conversations/{made.conversation}")
        httpx.delete(f"{server.api}/kbs/{KB}", timeout=60)


@SCHEMA.include(path_regex="^/v1/").parametrize()
@SCHEMA.given(aimed=st.booleans())
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=not EXPLORE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_api_keeps_to_its_schema(case, aimed, server, scratch):
    if aimed:
        scratch.aim(case)
    response = case.call(base_url=server.url, timeout=120)
    try:
        case.validate_response(response, checks=CHECKS)
    finally:
        scratch.restore(case, response)
