"""The knowledge-base registry (ragchat.kbs): names, folders, create/list/delete, the old home,
and ``--kb`` on the CLI (a document only in KB ``b`` is cited by ``ask --kb b`` and not by ``ask``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragchat.cli.main import cli
from ragchat.errors import (
    ConfigError,
    IndexLockedError,
    InvalidKnowledgeBaseNameError,
    KnowledgeBaseExistsError,
    KnowledgeBaseNotFoundError,
    ProtectedKnowledgeBaseError,
)
from ragchat.kbs import Registry, check_name, kb_settings
from ragchat.settings import load_settings

FARM = "农业简报\n\n今年全市新建温室大棚210座，带动就业3400人。\n"
FARM_QUESTION = "今年全市新建温室大棚多少座?"


@pytest.fixture
def settings(_isolated_home):
    return load_settings()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a/../b", "../etc", "a\\b", "a.b", ".hidden", "a b",
                                  "x" * 65, "-rf", "con", "NUL", "a\x00b", "名字/..", "~"])
def test_bad_names_are_refused(name):
    with pytest.raises(InvalidKnowledgeBaseNameError):
        check_name(name)


@pytest.mark.parametrize("name", ["default", "b", "财务报告", "年报-2023_v2", "Отчёт", "हिन्दी", "x" * 64, "a-"])
def test_good_names_pass(name):
    assert check_name(name) == name


def test_a_name_is_nfc_normalised():
    assert check_name("e\u0301t\u0301e") == "\u00e9t\u0301e"


def test_create_list_delete(settings):
    registry = Registry(settings)
    assert registry.names() == ["default"]
    made = registry.create("财务")
    registry.create("b")
    assert registry.names() == ["default", "b", "财务"]
    root = (settings.home / "kbs").resolve()
    for kb in (made, registry.get("b")):
        assert kb.index_dir.resolve().parent.parent == root and kb.index_dir.is_dir() and kb.documents_dir.is_dir()
    with pytest.raises(KnowledgeBaseExistsError):
        registry.create("财务")
    with pytest.raises(KnowledgeBaseExistsError):
        registry.create("B")  # one folder on a case-insensitive file system
    with pytest.raises(KnowledgeBaseExistsError):
        registry.create("default")
    registry.delete("财务")
    assert registry.names() == ["default", "b"] and not (settings.home / "kbs" / "财务").exists()
    assert not [p for p in (settings.home / "kbs").iterdir() if p.name.startswith(".")]  # nothing left over
    with pytest.raises(KnowledgeBaseNotFoundError):
        registry.get("财务")
    with pytest.raises(KnowledgeBaseNotFoundError):
        registry.delete("财务")
    with pytest.raises(ProtectedKnowledgeBaseError):
        registry.delete("default")


def test_a_name_never_leaves_the_kbs_folder(settings):
    registry = Registry(settings)
    for name in ("..", "../b", "a/../../b", "/etc"):
        with pytest.raises(InvalidKnowledgeBaseNameError):
            registry.create(name)
        with pytest.raises(InvalidKnowledgeBaseNameError):
            registry.get(name)
    assert sorted(p.name for p in settings.home.iterdir()) == ["empty.toml"]


def test_deleting_waits_for_the_writer_lock(settings):
    from index.lock import index_lock

    registry = Registry(settings)
    kb = registry.create("busy")
    with index_lock(kb.index_dir):
        with pytest.raises(IndexLockedError):
            registry.delete("busy")
    assert registry.exists("busy")
    registry.delete("busy")
    assert not registry.exists("busy")


def test_kb_settings_point_into_the_kb(settings):
    Registry(settings).create("b")
    b = kb_settings(settings, "b")
    assert b.kb == "b"
    assert b.index_dir == settings.home / "kbs" / "b" / "index"
    assert b.documents_dir == settings.home / "kbs" / "b" / "documents"
    assert b.corpus_paths == (b.documents_dir,)  # not the bundled report
    default = kb_settings(settings)
    assert default.index_dir == settings.home / "kbs" / "default" / "index"
    assert default.corpus_paths == settings.corpus_paths
    with pytest.raises(KnowledgeBaseNotFoundError):
        kb_settings(settings, "nope")


def test_explicit_folders_are_the_default_kbs(tmp_path, _isolated_home, monkeypatch):
    monkeypatch.setenv("RAGCHAT_INDEX__DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("RAGCHAT_UI__DOCUMENTS_DIR", str(tmp_path / "docs"))
    default = kb_settings(load_settings(), "default")
    assert (default.index_dir, default.documents_dir) == (tmp_path / "idx", tmp_path / "docs")


def test_an_old_home_keeps_its_folders(_isolated_home):
    home = _isolated_home
    (home / "index").mkdir()
    settings = load_settings()
    assert settings.index_dir == home / "index" and settings.documents_dir == home / "documents"
    Registry(settings).create("b")  # other KBs go under kbs/ all the same
    assert load_settings().index_dir == home / "index"
    assert kb_settings(settings, "b").index_dir == home / "kbs" / "b" / "index"


def test_the_kb_setting_is_validated(monkeypatch):
    monkeypatch.setenv("RAGCHAT_KB", "../x")
    with pytest.raises(ConfigError, match="kb"):
        load_settings()


def _ragchat(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_cli_kb_commands_and_unknown_kb(_isolated_home):
    made = _ragchat("kb", "create", "b")
    assert made.exit_code == 0, made.output
    listed = _ragchat("kb", "list")
    assert listed.exit_code == 0 and [line.lstrip("* ").split()[0] for line in listed.output.splitlines()] == ["default", "b"]
    for command in (["ask", "--kb", "nope", "问题"], ["index", "status", "--kb", "nope"],
                    ["index", "add", "--kb", "nope", str(_isolated_home)], ["kb", "delete", "--yes", "nope"]):
        result = _ragchat(*command)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.strip().splitlines() == [result.output.strip()] and "no knowledge base 'nope'" in result.output
    bad = _ragchat("kb", "create", "a/../b")
    assert bad.exit_code == 1 and "invalid knowledge-base name" in bad.output
    refused = _ragchat("kb", "delete", "--yes", "default")
    assert refused.exit_code == 1 and "cannot be deleted" in refused.output
    empty = _ragchat("ask", "--kb", "b", FARM_QUESTION)
    assert empty.exit_code == 1 and "holds no documents yet" in empty.output
    gone = _ragchat("kb", "delete", "--yes", "b")
    assert gone.exit_code == 0 and not (_isolated_home / "kbs" / "b").exists()


def test_ask_answers_from_the_named_kb_only(tmp_path, _isolated_home, monkeypatch):
    farm = tmp_path / "farm.txt"
    farm.write_text(FARM, encoding="utf-8")
    assert _ragchat("kb", "create", "b").exit_code == 0
    added = _ragchat("index", "add", "--kb", "b", str(farm))
    assert added.exit_code == 0, added.output
    status = _ragchat("index", "status", "--kb", "b")
    assert "documents:  1" in status.output and "farm.txt" in status.output
    in_b = json.loads(_ragchat("ask", "--kb", "b", "--json", FARM_QUESTION).stdout)
    assert not in_b["refused"] and "210" in in_b["answer"]
    assert {Path(c["source"]).name for c in in_b["citations"]} == {"farm.txt"}
    in_default = json.loads(_ragchat("ask", "--json", FARM_QUESTION).stdout)  # builds the bundled report
    assert all(Path(c["source"]).name != "farm.txt" for c in in_default["citations"])
    assert all(Path(r["source"]).name != "farm.txt" for r in in_default["retrieved"])
    # RAGCHAT_KB picks the KB when none is named
    monkeypatch.setenv("RAGCHAT_KB", "b")
    picked = json.loads(_ragchat("ask", "--json", FARM_QUESTION).stdout)
    assert {Path(c["source"]).name for c in picked["citations"]} == {"farm.txt"}
