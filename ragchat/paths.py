"""Where the bundled files are."""

from __future__ import annotations

from pathlib import Path

BUNDLED_REPORT = "siping-plenary-2023-08.txt"


def bundled_corpus_dir() -> Path:
    """The folder holding the bundled report.

    In a source checkout or an editable install it is ``data/corpus`` at the
    repository's top level; a wheel carries it as ``ragchat/_bundled/corpus``.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "data" / "corpus", here / "_bundled" / "corpus"):
        if (candidate / BUNDLED_REPORT).is_file():
            return candidate
    return here.parent / "data" / "corpus"


def bundled_report() -> Path:
    return bundled_corpus_dir() / BUNDLED_REPORT


def file_in_the_way(folder: Path) -> Path | None:
    """The regular file (or other non-folder) that ``folder`` is, or sits under, if any:
    such a folder can be neither used nor made."""
    for part in (folder, *folder.parents):
        if part.exists():
            return None if part.is_dir() else part
    return None
