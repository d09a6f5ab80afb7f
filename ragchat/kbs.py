"""Knowledge bases: named indexes, each with its own documents, under ``<home>/kbs/<name>/``.

Each knowledge base (KB) is a folder ``<home>/kbs/<name>/`` holding ``index/`` and ``documents/``.
The one named ``default`` holds the configured corpus (the bundled report); the others start
empty and are filled by uploads or ``ragchat index add --kb NAME``: their corpus is their own
documents folder.

A home made before knowledge bases existed keeps working without a move: while ``<home>/index``
exists and ``<home>/kbs/default`` does not, the default KB is ``<home>/index`` and
``<home>/documents`` (the index records its documents' absolute paths, which a move would break).
``index.dir`` and ``ui.documents_dir``, when set, are the default KB's folders.

:func:`kb_settings` returns the settings of one KB (a copy whose ``index_dir`` and
``documents_dir`` point into it), so that every other part of the app works per KB unchanged.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragchat.errors import (
    InvalidKnowledgeBaseNameError,
    KnowledgeBaseExistsError,
    KnowledgeBaseNotFoundError,
    ProtectedKnowledgeBaseError,
)

if TYPE_CHECKING:
    from ragchat.settings import Settings

DEFAULT_KB = "default"
MAX_NAME_CHARS = 64
KBS_FOLDER = "kbs"
# Windows device names: a folder named so cannot be made there
RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def check_name(name: object) -> str:
    """``name`` as a valid KB name (NFC), or :class:`InvalidKnowledgeBaseNameError` saying why.

    Letters of any script (CJK included), digits, ``-`` and ``_``; 1 to 64 characters; not
    starting with ``-``; not a reserved device name. No dots and no slashes, so a name is never
    a path: it always stays one folder under ``<home>/kbs``.
    """
    if not isinstance(name, str):
        raise InvalidKnowledgeBaseNameError("a knowledge-base name must be a string")
    clean = unicodedata.normalize("NFC", name)
    if not clean:
        raise InvalidKnowledgeBaseNameError("a knowledge-base name cannot be empty")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidKnowledgeBaseNameError(f"a knowledge-base name has at most {MAX_NAME_CHARS} characters")
    bad = [ch for ch in clean if not (_letter_or_digit(ch) or ch in "-_")]
    if bad:
        raise InvalidKnowledgeBaseNameError(
            f"invalid knowledge-base name {clean[:80]!r}: {bad[0]!r} is not allowed; "
            "use letters, digits, '-' and '_'")
    if clean[0] == "-" or unicodedata.category(clean[0])[0] == "M":
        raise InvalidKnowledgeBaseNameError(f"invalid knowledge-base name {clean!r}: it cannot start with {clean[0]!r}")
    if clean.casefold() in RESERVED:
        raise InvalidKnowledgeBaseNameError(f"invalid knowledge-base name {clean!r}: the name is reserved")
    return clean


def _letter_or_digit(ch: str) -> bool:
    """A letter of any script (with its combining marks: Hindi, Thai ...) or a decimal digit."""
    category = unicodedata.category(ch)
    return category[0] in "LM" or category == "Nd"


def knowledge_base_name(index_dir: Path) -> str:
    """The name a knowledge base goes by outside this machine (its Milvus collection, its shared
    writer lock): its KB's for ``kbs/<kb>/index``, else the index folder's own."""
    return index_dir.parent.name if index_dir.name == "index" and index_dir.parent.name else index_dir.name


def legacy_home(home: Path) -> bool:
    """True for a home made before knowledge bases: its default KB stays in ``<home>/index``."""
    return (home / "index").exists() and not (home / KBS_FOLDER / DEFAULT_KB).exists()


def default_kb_root(home: Path) -> Path:
    """Where the default KB's ``index`` and ``documents`` are (without ``index.dir`` / ``ui.documents_dir``)."""
    return home if legacy_home(home) else home / KBS_FOLDER / DEFAULT_KB


@dataclass(frozen=True)
class KnowledgeBase:
    """One knowledge base and its folders."""

    name: str
    index_dir: Path
    documents_dir: Path

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_KB


class Registry:
    """The knowledge bases of one home: list, look up, create and delete."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.home / KBS_FOLDER

    def names(self) -> list[str]:
        """``default`` first, then the others in name order."""
        others: list[str] = []
        if self.root.is_dir():
            for entry in self.root.iterdir():
                if entry.is_dir() and entry.name != DEFAULT_KB and _valid(entry.name):
                    others.append(entry.name)
        return [DEFAULT_KB, *sorted(others, key=str.casefold)]

    def list(self) -> list[KnowledgeBase]:
        return [self.get(name) for name in self.names()]

    def get(self, name: str) -> KnowledgeBase:
        """The KB named ``name``; :class:`KnowledgeBaseNotFoundError` when there is none."""
        name = check_name(name)
        if name == DEFAULT_KB:
            return KnowledgeBase(DEFAULT_KB, self.settings.index_dir, self.settings.documents_dir)
        folder = self._folder(name)
        if not folder.is_dir():
            raise KnowledgeBaseNotFoundError(
                f"no knowledge base {name!r}; known: {', '.join(self.names())} (create it first)")
        return KnowledgeBase(name, folder / "index", folder / "documents")

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except KnowledgeBaseNotFoundError:
            return False
        return True

    def create(self, name: str) -> KnowledgeBase:
        """Make an empty KB, atomically: its folder appears whole or not at all."""
        name = check_name(name)
        taken = {n.casefold() for n in self.names()}
        if name.casefold() in taken:
            raise KnowledgeBaseExistsError(f"a knowledge base named {name!r} exists already")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".creating-{uuid.uuid4().hex}"
        (staging / "index").mkdir(parents=True)
        (staging / "documents").mkdir()
        try:
            os.rename(staging, self._folder(name))  # fails if another process made it meanwhile
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise KnowledgeBaseExistsError(f"a knowledge base named {name!r} exists already") from None
        return self.get(name)

    def delete(self, name: str, wait: float = 0.0) -> None:
        """Delete a KB with its index and documents, holding its writer lock (so no upload or
        ``index add`` is half-way). The default KB cannot be deleted."""
        from index.lock import index_lock

        kb = self.get(name)
        if kb.is_default:
            raise ProtectedKnowledgeBaseError("the default knowledge base cannot be deleted")
        folder = self._folder(kb.name)
        trash = self.root / f".deleting-{uuid.uuid4().hex}"
        with index_lock(kb.index_dir, wait):
            os.rename(folder, trash)  # gone from the list at once, in one step
        shutil.rmtree(trash, ignore_errors=True)

    def _folder(self, name: str) -> Path:
        folder = (self.root / name).resolve()
        if folder.parent != self.root.resolve():  # check_name makes this impossible; kept as a guard
            raise InvalidKnowledgeBaseNameError(f"invalid knowledge-base name {name!r}")
        return folder


def _valid(name: str) -> bool:
    try:
        return check_name(name) == name
    except InvalidKnowledgeBaseNameError:
        return False


def kb_settings(settings: Settings, name: str | None = None) -> Settings:
    """The settings of the KB ``name`` (default: the ``kb`` setting): a copy whose ``index_dir``
    and ``documents_dir`` are the KB's folders, and whose corpus, for a KB other than the default,
    is its documents folder. Raises :class:`KnowledgeBaseNotFoundError` for an unknown KB."""
    kb = Registry(settings).get(name or settings.kb)
    update: dict[str, object] = {
        "kb": kb.name,
        "index": settings.index.model_copy(update={"dir": kb.index_dir}),
        "ui": settings.ui.model_copy(update={"documents_dir": kb.documents_dir}),
    }
    if not kb.is_default:
        update["corpus"] = (kb.documents_dir,)
    return settings.model_copy(update=update)
