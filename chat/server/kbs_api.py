"""The native API for knowledge bases, their documents and the indexing jobs:

* ``GET/POST /v1/kbs``, ``GET/DELETE /v1/kbs/{kb}``;
* ``GET/POST /v1/kbs/{kb}/documents`` (POST: a multipart upload of many ``files``, indexed in a
  background job: 202 with the job), ``DELETE /v1/kbs/{kb}/documents/{doc}``;
* ``GET /v1/jobs/{id}``.

Uploads go through :meth:`chat.ui.documents.Library.add`, with the UI's checks and its report.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from chat.server.errors import APIError, not_ready
from chat.server.jobs import Jobs
from chat.server.resource_models import DocumentList, JobOut, KBDeleted, KBList, KBStatus, Report
from chat.server.schema import errors
from chat.server.state import LOAD_WAIT_S, libraries, library
from chat.ui.documents import Library, Upload
from ragchat.errors import IndexNotFoundError, RagchatError
from ragchat.kbs import KnowledgeBase

router = APIRouter()
COPY_CHUNK = 1 << 20


class CreateKB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


def _status(request: Request, kb: KnowledgeBase) -> dict[str, Any]:
    """A knowledge base's status from its live version's manifest (without loading it)."""
    from index.store import live_version, read_manifest

    loaded = libraries(request).loaded(kb.name)
    state = "not_loaded"
    if loaded is not None:
        state = ("loading" if not loaded.ready else "failed" if loaded.error is not None
                 else "empty" if loaded.empty else "ready")
    body: dict[str, Any] = {"object": "kb", "name": kb.name, "model": "ragchat/" + kb.name, "state": state,
                            "documents": 0, "chunks": 0, "embedding_model": None, "built_at": None}
    try:
        manifest = read_manifest(live_version(kb.index_dir))
    except IndexNotFoundError:
        if state == "not_loaded":
            body["state"] = "empty"
        return body
    except RagchatError as exc:
        body["error"] = str(exc)
        return body
    body.update(documents=len(manifest.get("documents", {})), chunks=manifest.get("n_chunks", 0),
                embedding_model=manifest["embedding"]["model_id"], built_at=manifest.get("built_at"))
    return body


def _loaded(request: Request, kb: str) -> Library:
    """The library of ``kb`` once its index is open: a KB opened on first use is waited for (as the
    answer routes do, ``LOAD_WAIT_S``); 503 while its index is first built or takes longer; its
    error if it cannot be opened."""
    docs = library(request, kb)
    try:
        docs.wait_loaded(timeout=0 if docs.first_build else LOAD_WAIT_S)
    except TimeoutError:
        raise not_ready(f"the knowledge base {docs.settings.kb!r} is still loading; try again in a moment") from None
    return docs


@router.get("/kbs", response_model=KBList)
def list_kbs(request: Request) -> dict[str, Any]:
    registry = libraries(request).registry
    return {"object": "list", "data": [_status(request, kb) for kb in registry.list()]}


@router.post("/kbs", status_code=201, response_model=KBStatus, responses=errors(409))
def create_kb(body: CreateKB, request: Request) -> dict[str, Any]:
    return _status(request, libraries(request).create(body.name))


@router.get("/kbs/{kb}", response_model=KBStatus)
def get_kb(kb: str, request: Request) -> dict[str, Any]:
    request.state.model = kb
    return _status(request, libraries(request).registry.get(kb))


@router.delete("/kbs/{kb}", response_model=KBDeleted, responses=errors(409, 429))
def delete_kb(kb: str, request: Request) -> dict[str, Any]:
    request.state.model = kb
    name = libraries(request).registry.get(kb).name
    libraries(request).delete(name, wait=30.0)
    return {"object": "kb", "name": name, "deleted": True}


@router.get("/kbs/{kb}/documents", response_model=DocumentList, responses=errors(503))
def list_documents(kb: str, request: Request) -> dict[str, Any]:
    request.state.model = kb
    docs = _loaded(request, kb)
    rows = docs.documents()
    for row in rows:
        row["name"] = Path(row["source"]).name
    return {"object": "list", "kb": docs.settings.kb, "data": rows}


@router.post("/kbs/{kb}/documents", status_code=202, response_model=JobOut, responses=errors(503))
async def upload_documents(kb: str, request: Request, files: list[UploadFile] = File(...)) -> JSONResponse:
    """Save the uploads to a temporary folder, and index them in a job (202: ``GET /v1/jobs/{id}``)."""
    request.state.model = kb
    target = library(request, kb)
    most = request.app.state.settings.serve.max_upload_files
    if len(files) > most:
        raise APIError(413, f"{len(files)} files in one upload; at most {most} (serve.max_upload_files)",
                       param="files", code="too_many_files")
    registry = libraries(request).registry
    staging = Path(tempfile.mkdtemp(prefix="ragchat-upload-"))
    uploads: list[Upload] = []
    try:
        for i, file in enumerate(files):
            path = staging / f"{i:04d}"
            with path.open("wb") as out:
                while chunk := await file.read(COPY_CHUNK):
                    out.write(chunk)
            uploads.append(Upload(path, file.filename or "document"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    def work(progress) -> dict[str, Any]:
        registry.get(target.settings.kb)  # not deleted while the job waited its turn
        target.wait_loaded()
        return target.add(uploads, progress).to_dict()

    jobs: Jobs = request.app.state.jobs
    job = jobs.submit("upload", target.settings.kb, work, cleanup=lambda: shutil.rmtree(staging, ignore_errors=True))
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.delete("/kbs/{kb}/documents/{doc}", response_model=Report, responses=errors(429, 503))
def delete_document(kb: str, doc: str, request: Request) -> dict[str, Any]:
    """Remove one document (its id, or its file name when only one has it) and its uploaded file."""
    request.state.model = kb
    docs = _loaded(request, kb)
    result = docs.remove([doc])
    if not result.removed:
        raise APIError(404, f"no document {doc!r:.80} in the knowledge base {docs.settings.kb!r}",
                       param="doc", code="document_not_found")
    return result.to_dict()


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise APIError(404, f"no job {job_id!r:.80}; jobs are kept while the server runs", code="job_not_found")
    return job.to_dict()
