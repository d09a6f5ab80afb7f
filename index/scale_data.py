"""The scale benchmark's corpus: realistic Chinese chunks and vectors at any size, by seed.

Real part (embedded once with the configured e5 model, through the eval's embedding cache):

- the bundled report's chunks (the app's chunker and settings, heading in front as indexed);
- ``real`` CMRC 2018 dev chunks (the 848 passages through the same chunker), picked by seed;
- the report dev set's answerable questions (query vectors).

Synthetic part, ``n`` chunks in all (the report's chunks at seeded random rows, the rest made up):
chunk ``j`` takes two real CMRC chunks ``a`` and ``b`` and a mix ``w`` in [0.5, 1]; its text is
``a``'s sentences, shuffled, with a share ``1 - w`` of them replaced by ``b``'s, cut at ``a``'s
length; its vector is ``normalise(w·v_a + (1-w)·v_b + σ·z ⊙ s)`` with ``z`` standard normal,
``s`` the per-dimension spread of the real vectors, and ``σ`` set so that a chunk's cosine to
its base equals the median cosine between a real CMRC chunk and its nearest real neighbour.
So vectors lie in clusters and along the lines between them, like real embeddings, and not
uniformly on the sphere (a worst case for HNSW and IVF that no corpus has).

Queries for recall@10: the dev questions' real vectors, plus as many perturbed copies
(the same noise), ``queries`` in all. Exact top-10 by a flat inner-product search.

Everything lands in ``<work>/n<size>-s<seed>/``: ``vectors.npy`` (float32, unit rows),
``texts.bin`` + ``offsets.npy`` (UTF-8 texts), ``queries.npy``, ``truth.npy``, ``meta.json``
(report rows, dev questions and evidence, σ).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ragchat.errors import RagchatError

BASE_DIR = "base"


class ScaleDataError(RagchatError):
    """The benchmark's corpus cannot be made or read."""


@dataclass(frozen=True)
class DevItem:
    question: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Base:
    """The real chunks, questions and their vectors."""

    report_texts: list[str]  # as indexed: heading line + chunk text
    report_vectors: np.ndarray
    cmrc_texts: list[str]
    cmrc_vectors: np.ndarray
    dev: list[DevItem]
    dev_vectors: np.ndarray


@dataclass(frozen=True)
class Corpus:
    """One size of the benchmark corpus, read back from its folder."""

    folder: Path
    n: int
    vectors: np.ndarray
    queries: np.ndarray
    truth: np.ndarray  # exact top-10 rows of each query
    report_rows: list[int]
    dev: list[DevItem]
    dev_vectors: np.ndarray
    sigma: float

    def texts(self) -> list[str]:
        raw = (self.folder / "texts.bin").read_bytes()
        offsets = np.load(self.folder / "offsets.npy")
        return [raw[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(self.n)]

    def text(self, row: int) -> str:
        offsets = np.load(self.folder / "offsets.npy", mmap_mode="r")
        with open(self.folder / "texts.bin", "rb") as fh:
            fh.seek(int(offsets[row]))
            return fh.read(int(offsets[row + 1] - offsets[row])).decode("utf-8")


def log(stage: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:8.1f} s] {stage}", file=sys.stderr, flush=True)


def _embed(embeddings, texts: list[str]) -> np.ndarray:
    v = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_base(work: Path, real: int, seed: int, started: float) -> Base:
    """The real chunks and vectors (embedded through the eval cache; cached in ``work/base``)."""
    from eval.corpus import distractor_docs, eval_cache_dir, eval_embeddings
    from eval.sets import REPORT_DEV, load_jsonl
    from index.update import embed_text
    from ingest.loaders import load_file
    from ingest.pipeline import ingest_document
    from ragchat.paths import bundled_report
    from ragchat.settings import load_settings

    folder = work / BASE_DIR / f"real{real}-s{seed}"
    if (folder / "base.json").exists():
        meta = json.loads((folder / "base.json").read_text(encoding="utf-8"))
        return Base(meta["report"], np.load(folder / "report.npy"), meta["cmrc"], np.load(folder / "cmrc.npy"),
                    [DevItem(q, tuple(e)) for q, e in meta["dev"]], np.load(folder / "dev.npy"))
    settings = load_settings()
    report = [embed_text(c, True) for c in ingest_document(load_file(bundled_report()), settings.chunking)]
    cmrc_all = [c.text for d in distractor_docs() for c in ingest_document(d, settings.chunking)]
    pick = np.random.default_rng(seed).choice(len(cmrc_all), min(real, len(cmrc_all)), replace=False)
    cmrc = [cmrc_all[i] for i in sorted(pick)]
    dev = [DevItem(i.question, tuple(i.evidence)) for i in load_jsonl(REPORT_DEV).items if i.answerable]
    log(f"base: {len(report)} report chunks, {len(cmrc)} of {len(cmrc_all)} CMRC chunks, {len(dev)} questions;"
        " embedding (cached texts are not embedded again)", started)
    embeddings = eval_embeddings(settings, eval_cache_dir())
    report_v = _embed(embeddings, report)
    cmrc_v = _embed(embeddings, cmrc)
    dev_v = np.asarray([embeddings.embed_query(d.question) for d in dev], dtype=np.float32)
    dev_v /= np.linalg.norm(dev_v, axis=1, keepdims=True)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "report.npy", report_v)
    np.save(folder / "cmrc.npy", cmrc_v)
    np.save(folder / "dev.npy", dev_v)
    meta = {"report": report, "cmrc": cmrc, "dev": [[d.question, list(d.evidence)] for d in dev]}
    (folder / "base.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    log("base: embedded", started)
    return Base(report, report_v, cmrc, cmrc_v, dev, dev_v)


def noise_scale(vectors: np.ndarray) -> tuple[float, np.ndarray]:
    """(σ, per-dimension spread): noise ``σ·z⊙s`` leaves a vector at the median cosine
    between a real vector and its nearest real neighbour."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1.0)
    target = float(np.median(sims.max(axis=1)))
    spread = vectors.std(axis=0).astype(np.float32)
    # |noise|² ≈ σ²·Σs²; cos(v + noise, v) ≈ 1/sqrt(1 + σ²·Σs²)
    sigma = float(np.sqrt(1.0 / target**2 - 1.0) / np.sqrt(np.sum(spread**2)))
    return sigma, spread


def _sentences(text: str) -> list[str]:
    from ingest.sentences import sentence_spans

    return [text[s:e] for s, e in sentence_spans(text) if text[s:e].strip()] or [text]


def _perturb(base: np.ndarray, rng: np.random.Generator, sigma: float, spread: np.ndarray) -> np.ndarray:
    x = base + sigma * rng.standard_normal(base.shape, dtype=np.float32) * spread
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index.search(queries, k)[1].astype(np.int64)


def make_corpus(work: Path, n: int, real: int = 2000, queries: int = 300, seed: int = 0) -> Corpus:
    """The corpus of ``n`` chunks (made once, then read back)."""
    folder = work / f"n{n}-r{real}-s{seed}"
    if (folder / "meta.json").exists():
        return load_corpus(folder)
    started = time.perf_counter()
    base = build_base(work, real, seed, started)
    if n < len(base.report_texts):
        raise ScaleDataError(f"{n} chunks cannot hold the report's {len(base.report_texts)}")
    rng = np.random.default_rng([seed, n])
    sigma, spread = noise_scale(base.cmrc_vectors)
    sentences = [_sentences(t) for t in base.cmrc_texts]
    report_rows = sorted(rng.choice(n, len(base.report_texts), replace=False).tolist())
    is_report = np.zeros(n, bool)
    is_report[report_rows] = True
    m = len(base.cmrc_texts)
    a = rng.integers(0, m, n)
    b = rng.integers(0, m, n)
    w = rng.uniform(0.5, 1.0, n).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.lib.format.open_memmap(folder / "vectors.tmp.npy", mode="w+", dtype=np.float32,
                                        shape=(n, base.cmrc_vectors.shape[1]))
    offsets = np.zeros(n + 1, np.int64)
    report_iter = iter(zip(base.report_texts, base.report_vectors))
    step = 100_000
    with open(folder / "texts.bin", "wb") as out:
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            mix = w[lo:hi, None] * base.cmrc_vectors[a[lo:hi]] + (1 - w[lo:hi, None]) * base.cmrc_vectors[b[lo:hi]]
            block = _perturb(mix, rng, sigma, spread)
            for j in range(lo, hi):
                if is_report[j]:
                    text, block[j - lo] = next(report_iter)
                else:
                    own = list(sentences[a[j]])
                    rng.shuffle(own)
                    other = sentences[b[j]]
                    swaps = int(round((1 - w[j]) * len(own)))
                    for s in range(swaps):
                        own[s] = other[int(rng.integers(0, len(other)))]
                    text, limit = "".join(own), len(base.cmrc_texts[a[j]])
                    text = text[:limit]
                data = text.encode("utf-8")
                out.write(data)
                offsets[j + 1] = offsets[j] + len(data)
            vectors[lo:hi] = block
            log(f"corpus n={n}: {hi} chunks", started)
    vectors.flush()
    del vectors
    (folder / "vectors.tmp.npy").replace(folder / "vectors.npy")
    np.save(folder / "offsets.npy", offsets)
    extra = max(0, queries - len(base.dev))
    picks = rng.integers(0, len(base.dev), extra)
    qs = np.concatenate([base.dev_vectors, _perturb(base.dev_vectors[picks], rng, sigma, spread)])[:queries]
    np.save(folder / "queries.npy", qs.astype(np.float32))
    vectors = np.load(folder / "vectors.npy", mmap_mode="r")
    np.save(folder / "truth.npy", exact_top(np.ascontiguousarray(vectors), qs))
    log(f"corpus n={n}: exact top-10 of {len(qs)} queries", started)
    meta = {"n": n, "sigma": sigma, "report_rows": report_rows,
            "dev": [asdict(d) for d in base.dev], "real": real, "seed": seed}
    np.save(folder / "dev.npy", base.dev_vectors)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return load_corpus(folder)


def load_corpus(folder: Path, mmap: bool = False) -> Corpus:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScaleDataError(f"no benchmark corpus in {folder}: {exc}") from None
    vectors = np.load(folder / "vectors.npy", mmap_mode="r" if mmap else None)
    return Corpus(folder, meta["n"], vectors, np.load(folder / "queries.npy"), np.load(folder / "truth.npy"),
                  meta["report_rows"], [DevItem(d["question"], tuple(d["evidence"])) for d in meta["dev"]],
                  np.load(folder / "dev.npy"), meta["sigma"])
