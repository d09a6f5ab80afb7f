"""A load of concurrent API clients against a running server, and its correctness checks.

Each client loops over the questions, asking in turn by ``/v1/ask``, a plain and a streamed
``/v1/chat/completions``. Every answer must equal the answer the same question got alone, by the same
route, before the load (:func:`baseline`); after an upload during the load, the answer of either index
(old or new) is accepted. 429 (busy) is counted apart: allowed, not an error. Used by
:mod:`chat.server.bench_load` (50 clients for 60 s) and by a short test (correctness only).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KINDS = ("ask", "chat", "stream")
MODEL = "ragchat/default"
REQUEST_TIMEOUT_S = 300.0


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
class LoadRun:
    clients: int
    duration_s: float
    results: list[Result] = field(default_factory=list)
    # the replies each question got alone, by route: before the load, and after an upload if there was one
    expected: list[dict[tuple[str, int], Reply]] = field(default_factory=list)
    upload: str = "no upload route in this server (POST /v1/kbs/{kb}/documents): not done"

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


# An optional step during the load (an upload): given the client, it returns a line for the report.
Step = Callable[[httpx.AsyncClient], Awaitable[str]]


async def run_load(url: str, questions: Sequence[str], expected: dict[tuple[str, int], Reply],
                   clients: int, duration_s: float, step: Step | None = None, step_at_s: float = 0.0) -> LoadRun:
    """``clients`` clients asking for ``duration_s``; each reply is then checked against ``expected``
    (and, after an upload, against the new index's replies: add them to ``run.expected``).
    ``step`` runs once, ``step_at_s`` in."""
    run = LoadRun(clients, duration_s, expected=[expected])
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        start = time.perf_counter()

        async def one_client(n: int) -> None:
            turn = n
            while time.perf_counter() - start < duration_s:
                kind, q = KINDS[turn % len(KINDS)], (turn * 7) % len(questions)
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

        async def stepper() -> None:
            await asyncio.sleep(step_at_s)
            run.upload = await step(client)

        tasks = [one_client(n) for n in range(clients)] + ([stepper()] if step is not None else [])
        await asyncio.gather(*tasks)
    return run
