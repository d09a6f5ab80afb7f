"""A document is the same document wherever its folder goes: moves and copies add nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index.store import live_version, load_snapshot
from index.update import resolve_doc_id, update_index


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """A cache of this module's own: the edits here must not fill the one tests/index shares."""
    return tmp_path_factory.mktemp("identity-vectors") / "embeddings.sqlite"


@pytest.fixture
def docs(tmp_path, report_text) -> Path:
    folder = tmp_path / "reports"
    (folder / "2023").mkdir(parents=True)
    (folder / "2023" / "report.txt").write_text(report_text, encoding="utf-8")
    (folder / "farm.md").write_text(
        "# 农业简报\n\n今年全市新建温室大棚210座。\n\n全市玉米单产提高到每亩712公斤。\n", encoding="utf-8")
    (folder / "city.txt").write_text("城市简报\n\n今年新建公园14个，改造供热管网96公里。\n", encoding="utf-8")
    return folder


def _state(settings):
    snap = load_snapshot(settings.index_dir)
    try:
        docs = {d: rec.source for d, rec in snap.documents.items()}
        chunks = {c.id: (c.doc_id, c.source) for c in snap.chunks}
        return docs, chunks, snap.vectors.copy()
    finally:
        snap.close()


def test_a_moved_folder_keeps_its_documents_chunks_and_vectors(tmp_path, settings, embeddings, docs):
    first = update_index(settings.index_dir, settings, embeddings, add=[docs])
    before_docs, before_chunks, before_vectors = _state(settings)
    moved = tmp_path / "archive" / "reports-moved"
    moved.parent.mkdir()
    shutil.move(docs, moved)
    misses = embeddings.misses
    report = update_index(settings.index_dir, settings, embeddings, add=[moved])
    assert report.chunks_embedded == 0 and embeddings.misses == misses
    assert (report.added, report.updated, len(report.moved)) == ([], [], 3)
    assert report.n_documents == first.n_documents == 3 and report.n_chunks == first.n_chunks
    after_docs, after_chunks, after_vectors = _state(settings)
    assert set(after_docs) == set(before_docs)  # the same ids
    assert all(Path(s).is_relative_to(moved.resolve()) for s in after_docs.values())
    assert set(after_chunks) == set(before_chunks)
    assert all(Path(source).is_relative_to(moved.resolve()) for _, source in after_chunks.values())
    assert np.array_equal(np.sort(after_vectors, axis=0), np.sort(before_vectors, axis=0))
    assert "moved: 3" in report.summary()
    # Removing by the new path still works.
    snap = load_snapshot(settings.index_dir)
    farm = resolve_doc_id(str(moved / "farm.md"), snap.documents)
    snap.close()
    removed = update_index(settings.index_dir, settings, embeddings, remove=[str(moved / "farm.md")])
    assert removed.n_documents == 2 and farm not in _state(settings)[0]


def test_a_copied_folder_is_not_indexed_twice(tmp_path, settings, embeddings, docs):
    first = update_index(settings.index_dir, settings, embeddings, add=[docs])
    version = live_version(settings.index_dir)
    copy = tmp_path / "backup"
    shutil.copytree(docs, copy)
    report = update_index(settings.index_dir, settings, embeddings, add=[copy])
    assert report.chunks_embedded == 0 and (report.added, report.updated, report.moved) == ([], [], [])
    assert sorted(Path(p).name for p in report.copies) == ["city.txt", "farm.md", "report.txt"]
    assert report.n_documents == first.n_documents and report.n_chunks == first.n_chunks
    assert live_version(settings.index_dir) == version  # nothing changed, nothing written
    # Both places at once: the original is unchanged, the copy still not added.
    both = update_index(settings.index_dir, settings, embeddings, add=[docs, copy])
    assert (len(both.unchanged), len(both.copies), both.added, both.n_documents) == (3, 3, [], 3)


def test_a_moved_and_edited_file_is_updated_in_place_by_its_relative_name(tmp_path, settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs])
    before_docs, _, _ = _state(settings)
    moved = tmp_path / "moved"
    shutil.move(docs, moved)
    (moved / "farm.md").write_text(
        "# 农业简报\n\n今年全市新建温室大棚260座。\n\n全市玉米单产提高到每亩712公斤。\n", encoding="utf-8")
    report = update_index(settings.index_dir, settings, embeddings, add=[moved])
    assert [Path(p).name for p in report.updated] == ["farm.md"] and len(report.moved) == 2
    assert report.added == [] and report.n_documents == 3
    after_docs, after_chunks, _ = _state(settings)
    assert set(after_docs) == set(before_docs)
    assert report.chunks_embedded == 1  # only the edited chunk of farm.md


def test_a_new_file_at_a_moved_documents_old_path_is_a_new_document(tmp_path, settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])
    moved = tmp_path / "city-2023.txt"
    shutil.move(docs / "city.txt", moved)
    assert len(update_index(settings.index_dir, settings, embeddings, add=[moved]).moved) == 1
    (docs / "city.txt").write_text("城市简报\n\n今年新建公园20个。\n", encoding="utf-8")
    report = update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt", moved])
    assert len(report.added) == 1 and len(report.unchanged) == 1 and report.n_documents == 2
    sources = sorted(Path(s).name for s in _state(settings)[0].values())
    assert sources == ["city-2023.txt", "city.txt"]


def test_the_cli_reports_a_moved_folder(tmp_path, docs):
    from click.testing import CliRunner

    from ragchat.cli.main import cli

    index_dir = str(tmp_path / "idx")
    run = lambda *args: CliRunner().invoke(cli, ["index", *args, "--index-dir", index_dir], catch_exceptions=False)
    assert run("add", str(docs)).exit_code == 0
    moved = tmp_path / "moved"
    shutil.move(docs, moved)
    again = run("add", str(moved))
    assert again.exit_code == 0
    assert "added: 0  updated: 0  unchanged: 0  removed: 0  skipped: 0  moved: 3  copies: 0  chunks embedded: 0" \
        in again.output and "index: 3 documents" in again.output
    removed = run("remove", str(moved / "city.txt"))
    assert removed.exit_code == 0 and "removed: 1" in removed.output and "index: 2 documents" in removed.output
