"""Sending batches of texts to a model concurrently, yielding each batch as it completes.

:func:`run_batches` keeps up to ``concurrency`` batches in flight (a thread
pool; each call is one HTTP request that releases the GIL while it waits) and
yields every batch the moment it is done, in completion order, as a
:class:`DoneBatch` that says where its rows belong. The caller puts them back
in input order and can store each one at once.

A batch whose retries are spent (a retryable :class:`EmbeddingRequestError`)
does not stop the others. When the rest are done it is sent again alone, and
if it still fails it is split in halves, each sent alone, down to single
texts, so one bad text costs only itself. The texts that never succeed are
named by :class:`BatchesFailedError` at the end. An error that no retry can
mend (HTTP 400/401/404, a malformed answer, an unreachable server) stops the
run at once: no new batch is sent, the batches in flight are finished and
yielded, and the error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ragchat.errors import EmbeddingError

from ._batching import check_batch_size
from .retry import EmbeddingRequestError
from .vectors import FloatMatrix

#: Characters of a failed text quoted in the final error.
_PREVIEW = 30
#: Failed texts named one by one in the final error (the rest are counted).
_NAMED = 10


@dataclass(frozen=True)
class DoneBatch:
    """The vectors of ``texts[start : start + len(vectors)]``."""

    start: int
    vectors: FloatMatrix

    @property
    def stop(self) -> int:
        return self.start + int(self.vectors.shape[0])


class BatchesFailedError(EmbeddingError):
    """Some texts could not be embedded, even alone; every other text was.

    ``failed`` holds their positions in the list of texts given (to
    :func:`run_batches`, or to ``CachedEmbeddings.embed_documents``);
    ``last`` is the last error one of them got.
    """

    def __init__(self, message: str, failed: Sequence[int], last: BaseException | None = None) -> None:
        super().__init__(message)
        self.failed = tuple(failed)
        self.last = last


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise EmbeddingError(f"concurrency must be a positive integer, got {concurrency!r}")
    return concurrency


def _mendable(exc: BaseException) -> bool:
    """A failure that sending the batch again, alone or smaller, may mend."""
    return isinstance(exc, EmbeddingRequestError) and exc.retryable and not exc.unreachable


def run_batches(
    texts: Sequence[str],
    embed: Callable[[list[str]], FloatMatrix],
    *,
    batch_size: int,
    concurrency: int = 1,
) -> Iterator[DoneBatch]:
    """Embed ``texts`` with ``embed`` (one batch per call), yielding batches as they complete."""
    check_batch_size(batch_size)
    _check_concurrency(concurrency)
    spans = [(start, min(start + batch_size, len(texts))) for start in range(0, len(texts), batch_size)]
    failed: list[tuple[int, int, BaseException]] = []
    fatal: BaseException | None = None

    def call(span: tuple[int, int]) -> DoneBatch:
        return DoneBatch(span[0], embed(list(texts[span[0] : span[1]])))

    if concurrency == 1 or len(spans) == 1:
        for span in spans:
            try:
                done = call(span)
            except EmbeddingError as exc:
                if not _mendable(exc):
                    raise
                failed.append((*span, exc))
                continue
            yield done
    else:
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="embed")
        running: dict[Future[DoneBatch], tuple[int, int]] = {}
        todo = iter(spans)
        try:
            while True:
                while fatal is None and len(running) < concurrency:
                    span = next(todo, None)
                    if span is None:
                        break
                    running[pool.submit(call, span)] = span
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: running[f][0]):
                    span = running.pop(future)
                    exc = future.exception()
                    if exc is None:
                        yield future.result()
                    elif _mendable(exc):
                        failed.append((*span, exc))
                    elif fatal is None:
                        fatal = exc
        finally:
            # Ctrl-C or an error: send nothing more; a request in flight ends by its timeout.
            pool.shutdown(wait=False, cancel_futures=True)
        if fatal is not None:
            raise fatal

    lost: list[int] = []
    last: BaseException | None = None
    for start, stop, exc in sorted(failed, key=lambda item: item[0]):
        last = exc
        # Sent alone already when nothing else was in flight: go straight to halves.
        whole = concurrency > 1 and len(spans) > 1
        for done_or_lost in _alone(texts, embed, start, stop, whole=whole):
            if isinstance(done_or_lost, DoneBatch):
                yield done_or_lost
            else:
                index, error = done_or_lost
                lost.append(index)
                last = error
    if lost:
        raise BatchesFailedError(describe_failed(texts, lost, last), lost, last)


def _alone(
    texts: Sequence[str],
    embed: Callable[[list[str]], FloatMatrix],
    start: int,
    stop: int,
    *,
    whole: bool,
) -> Iterator[DoneBatch | tuple[int, BaseException]]:
    """``texts[start:stop]`` sent alone (if ``whole``), then in halves, down to single texts."""
    if whole or stop - start == 1:
        try:
            yield DoneBatch(start, embed(list(texts[start:stop])))
            return
        except EmbeddingError as exc:
            if not _mendable(exc):
                raise
            if stop - start == 1:
                yield (start, exc)
                return
    middle = (start + stop) // 2
    yield from _alone(texts, embed, start, middle, whole=True)
    yield from _alone(texts, embed, middle, stop, whole=True)


def describe_failed(texts: Sequence[str], lost: Sequence[int], last: BaseException | None) -> str:
    """The message of a :class:`BatchesFailedError`: how many failed, which, and why."""
    named = ", ".join(f"#{i} {texts[i][:_PREVIEW]!r}" for i in lost[:_NAMED])
    more = f" and {len(lost) - _NAMED} more" if len(lost) > _NAMED else ""
    return (
        f"{len(lost)} of {len(texts)} texts could not be embedded, even alone: {named}{more}; "
        f"every other text was embedded (and cached, if a cache is used). Last error: {last}"
    )
