"""A load of concurrent API clients against a running server, and its correctness checks.

Each client loops over the questions, asking in turn by ``/v1/ask``, a plain and a streamed
``/v1/chat/completions``. Every answer must equal the answer the same question got alone, by the same
route, before the load (:func:`baseline`). One document is uploaded during the load (:func:`upload`:
``POST /v1/kbs/{kb}/documents``, 202 and a job followed by ``GET /v1/jobs/{id}``); answers of either
index (old or new) are then accepted, and afterwards the document must be listed and cited
(:func:`check_upload`). 429 (busy) is counted apart: allowed, not an error. Used by
:mod:`chat.server.bench_load` (50 clients for 60 s) and by a short test (correctness only).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KINDS = ("ask", "chat", "stream")
KB = "default"
MODEL = "ragchat/" + KB
REQUEST_TIMEOUT_S = 300.0
UPLOAD_NAME = "load-test-note.md"
UPLOAD_TEXT = "# 星河天文台\n\n2026年，四平市在山门镇建成星河天文台，主镜口径为3.7米，向公众开放。\n"
UPLOAD_QUESTION = "星河天文台的主镜口径是多少？"
UPLOAD_FACT = "3.7米"
JOB_POLL_S = 0.2


@dataclass(frozen=True)
class Reply:
    """What an answer is compared by: its text and the chunks it cites."""

    text: str
    cited: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    kind: str
    question: int  # index into the questions
    status: int  # 0: the connection failed
    started_s: float  # since the load began
    latency_s: float
    reply: Reply | None  # None: not a 200
    detail: str = ""


@dataclass
class Upload:
    """The upload during the load, and what was checked after it: the POST's status, its job (state,
    time from the POST to the job's end, the report's ``added``), and afterwards whether the KB's
    document list holds the document and the question about it cites it."""

    status: int = 0
    job: str = ""
    state: str = ""
    job_s: float = 0.0
    indexing_s: float = 0.0  # the report's own ``seconds``
    added: tuple[str, ...] = ()
    listed: bool = False
    cited: bool = False
    detail: str = ""

    @property
    def ok(self) -> bool:
        return (self.status == 202 and self.state == "done" and UPLOAD_NAME in self.added
                and self.listed and self.cited)

    def line(self) -> str:
        if self.status != 202 or self.state != "done":
            return f"FAILED: {UPLOAD_NAME}: {self.status} {self.state} {self.detail}".strip()
        checks = (f"the report lists it as added: {'yes' if UPLOAD_NAME in self.added else 'NO'}; "
                  f"the KB's document list holds it: {'yes' if self.listed else 'NO'}; "
                  f"its question cites it afterwards: {'yes' if self.cited else 'NO'}")
        return (f"{'' if self.ok else 'FAILED: '}{UPLOAD_NAME} (202, job {self.state}) in {self.job_s:.1f} s "
                f"from the POST to the job's end (indexing {self.indexing_s:.1f} s); {checks}")


@dataclass
class LoadRun:
    clients: int
    duration_s: float
    results: list[Result] = field(default_factory=list)
    # the replies each question got alone, by route: before the load, and after an upload if there was one
    expected: list[dict[tuple[str, int], Reply]] = field(default_factory=list)
    upload: Upload | None = None  # None: no upload during this run

    def of(self, kind: str) -> list[Result]:
        return [r for r in self.results if r.kind == kind]

    @property
    def server_errors(self) -> list[Result]:
        return [r for r in self.results if r.status >= 500 or r.status == 0]

    @property
    def mismatches(self) -> list[Result]:
        """Replies equal to no expected reply of their question and route (a wrong or broken answer)."""
        return [r for r in self.results
                if r.reply is not None and not any(e.get((r.kind, r.question)) == r.reply for e in self.expected)]

    @property
    def from_new_index(self) -> list[Result]:
        """Replies that only the new index (after the upload) gives."""
        if len(self.expected) < 2:
            return []
        before, after = self.expected[0], self.expected[-1]
        return [r for r in self.results if r.reply is not None and r.reply == after.get((r.kind, r.question))
                and r.reply != before.get((r.kind, r.question))]

    @property
    def busy(self) -> int:
        return sum(r.status == 429 for r in self.results)

    @property
    def other_errors(self) -> list[Result]:
        return [r for r in self.results if 400 <= r.status < 500 and r.status != 429]


def load_questions(path: Path, limit: int) -> list[str]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["question"] for row in lines[:limit]]


async def ask_once(client: httpx.AsyncClient, kind: str, question: str) -> tuple[int, Reply | None, str]:
    """One request of ``kind``: its status, and its reply when 200 (else the error's text)."""
    if kind == "ask":
        response = await client.post("/v1/ask", json={"question": question})
        if response.status_code != 200:
            return response.status_code, None, response.text[:300]
        body = response.json()
        return 200, Reply(body["answer"], tuple(c["chunk_id"] for c in body["citations"])), ""
    chat = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": kind == "stream"}
    if kind == "chat":
        response = await client.post("/v1/chat/completions", json=chat)
        if response.status_code != 200:
            return response.status_code, None, response.text[:300]
        body = response.json()
        return 200, Reply(body["choices"][0]["message"]["content"],
                          tuple(c["chunk_id"] for c in body["citations"])), ""
    async with client.stream("POST", "/v1/chat/completions", json=chat) as response:
        if response.status_code != 200:
            return response.status_code, None, (await response.aread()).decode(errors="replace")[:300]
        text, cited, done = [], (), False
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            chunk = json.loads(line[6:])
            if "error" in chunk:
                return 500, None, json.dumps(chunk)[:300]  # an error after the status: counted as a 5xx
            text.append(chunk["choices"][0]["delta"].get("content") or "")
            cited = tuple(c["chunk_id"] for c in chunk.get("citations", ())) or cited
        if not done:
            return 0, None, "the stream ended without data: [DONE]"
        return 200, Reply("".join(text), cited), ""


async def baseline(url: str, questions: Sequence[str]) -> dict[tuple[str, int], Reply]:
    """Each question asked alone by each route, one at a time: the expected replies."""
    expected: dict[tuple[str, int], Reply] = {}
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        for i, question in enumerate(questions):
            for kind in KINDS:
                status, reply, detail = await ask_once(client, kind, question)
                if reply is None:
                    raise RuntimeError(f"{kind} of question {i} answered {status} alone: {detail}")
                expected[(kind, i)] = reply
    return expected


def plan(turn: int, n_questions: int) -> tuple[str, int]:
    """A client's ``turn``-th request: each question by each route in turn, then the next question
    (any ``n_questions``: every question and route comes up within ``len(KINDS) * n_questions`` turns)."""
    return KINDS[turn % len(KINDS)], (turn // len(KINDS)) % n_questions


async def upload(client: httpx.AsyncClient, kb: str = KB) -> Upload:
    """``POST /v1/kbs/{kb}/documents`` of one small new document (202 and a job), then
    ``GET /v1/jobs/{id}`` until the job ends."""
    began = time.perf_counter()
    response = await client.post(f"/v1/kbs/{kb}/documents",
                                 files=[("files", (UPLOAD_NAME, UPLOAD_TEXT.encode(), "text/markdown"))])
    outcome = Upload(status=response.status_code)
    if response.status_code != 202:
        outcome.detail = response.text[:300]
        return outcome
    job = response.json()
    outcome.job = job["id"]
    while job["state"] not in ("done", "failed"):
        await asyncio.sleep(JOB_POLL_S)
        job = (await client.get(response.headers["location"])).json()
    outcome.job_s = time.perf_counter() - began
    outcome.state = job["state"]
    if job["state"] == "failed":
        outcome.detail = str(job["error"])[:300]
        return outcome
    outcome.added = tuple(job["result"]["added"])
    outcome.indexing_s = job["result"]["seconds"]
    return outcome


async def check_upload(url: str, outcome: Upload, kb: str = KB) -> None:
    """After the load: is the document in the KB's list, and does its question cite it?"""
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        listed = (await client.get(f"/v1/kbs/{kb}/documents")).json()["data"]
        outcome.listed = any(d["name"] == UPLOAD_NAME for d in listed)
        answer = (await client.post("/v1/ask", json={"question": UPLOAD_QUESTION, "kb": kb})).json()
        outcome.cited = UPLOAD_FACT in answer["answer"] and any(
            Path(c["source"]).name == UPLOAD_NAME for c in answer["citations"])


async def measure(url: str, questions: Sequence[str], clients: int, duration_s: float,
                  with_upload: bool = True) -> LoadRun:
    """The expected replies, the load (with one upload a third of the way in), then the checks of
    the upload; replies given during or after it may come from the old or the new index. The
    clients also ask the question about the uploaded document, whose answer the upload changes."""
    questions = [*questions, UPLOAD_QUESTION] if with_upload else list(questions)
    expected = await baseline(url, questions)
    run = await run_load(url, questions, expected, clients, duration_s, with_upload, upload_at_s=duration_s / 3)
    if run.upload is not None:
        run.expected.append(await baseline(url, questions))  # the new index's replies
        await check_upload(url, run.upload)
    return run


async def run_load(url: str, questions: Sequence[str], expected: dict[tuple[str, int], Reply],
                   clients: int, duration_s: float, with_upload: bool = False, upload_at_s: float = 0.0) -> LoadRun:
    """``clients`` clients asking for ``duration_s``; each reply is then checked against ``expected``
    (and, after an upload, against the new index's replies: add them to ``run.expected``).
    With ``with_upload``, one document is uploaded ``upload_at_s`` in (:func:`upload`)."""
    run = LoadRun(clients, duration_s, expected=[expected])
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        start = time.perf_counter()

        async def one_client(n: int) -> None:
            turn = 7 * n  # the clients start at different questions
            while time.perf_counter() - start < duration_s:
                kind, q = plan(turn, len(questions))
                turn += 1
                began = time.perf_counter()
                try:
                    status, reply, detail = await ask_once(client, kind, questions[q])
                except httpx.HTTPError as exc:
                    status, reply, detail = 0, None, f"{type(exc).__name__}: {exc}"
                run.results.append(Result(kind, q, status, began - start, time.perf_counter() - began, reply,
                                          detail))
                if status == 429:
                    await asyncio.sleep(0.2)  # a real client backs off

        async def uploader() -> None:
            await asyncio.sleep(upload_at_s)
            try:
                run.upload = await upload(client)
            except httpx.HTTPError as exc:
                run.upload = Upload(detail=f"{type(exc).__name__}: {exc}")

        tasks = [one_client(n) for n in range(clients)] + ([uploader()] if with_upload else [])
        await asyncio.gather(*tasks)
    return run
