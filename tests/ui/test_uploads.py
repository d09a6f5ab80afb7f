"""Upload checks: sanitised names, type and size limits, files kept inside the documents folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.ui.documents import UploadRejectedError, check_content, check_upload, sanitize_filename, save_into
from chat.ui.sessions import HistoryFormatError, parse_history
from ragchat.settings import UISettings, load_settings


@pytest.mark.parametrize("raw, clean", [
    ("report.txt", "report.txt"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system.ini", "system.ini"),
    ("/abs/path/四平 报告(2023).PDF", "四平_报告(2023).pdf"),
    ("..", "document"),
    (".hidden.md", "hidden.md"),
    ("a\x00b\nc.txt", "abc.txt"),
    ("<script>x</script>.html", "script.html"),  # "/" separates: the base name is "script>.html"
    ("<b>名单</b>.md", "b.md"),
    ("<img src=x onerror=alert(1)>.md", "img_src_x_onerror_alert(1).md"),
    ("x" * 300 + ".docx", "x" * 115 + ".docx"),
])
def test_sanitize_filename(raw: str, clean: str):
    assert sanitize_filename(raw) == clean
    assert "/" not in clean and "\\" not in clean and not clean.startswith(".")


def test_check_upload_limits_type_and_size(tmp_path: Path):
    settings = load_settings()
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"max_upload_mb": 0.001})})
    small = tmp_path / "a.txt"
    small.write_text("短文本", encoding="utf-8")
    assert check_upload(small, "../a.txt", settings) == "a.txt"
    with pytest.raises(UploadRejectedError, match="not accepted"):
        check_upload(small, "a.exe", settings)
    with pytest.raises(UploadRejectedError, match="not accepted"):
        check_upload(small, "noextension", settings)
    big = tmp_path / "b.txt"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(UploadRejectedError, match="larger than"):
        check_upload(big, "b.txt", settings)
    only_md = settings.model_copy(update={"ui": UISettings(upload_extensions=("MD", "txt"))})
    assert only_md.ui.upload_extensions == (".md", ".txt")
    only_md = settings.model_copy(update={"ui": UISettings(upload_extensions=("MD",))})
    assert only_md.ui.upload_extensions == (".md",)
    with pytest.raises(UploadRejectedError):
        check_upload(small, "a.txt", only_md)


def test_save_into_stays_inside_the_folder(tmp_path: Path):
    source = tmp_path / "src.txt"
    source.write_text("内容", encoding="utf-8")
    folder = tmp_path / "docs"
    saved = save_into(folder, source, "a.txt")
    assert saved == (folder / "a.txt").resolve() and saved.read_text(encoding="utf-8") == "内容"
    with pytest.raises(UploadRejectedError):
        save_into(folder, source, "../escape.txt")
    assert not (tmp_path / "escape.txt").exists()
    assert [p.name for p in folder.iterdir()] == ["a.txt"]  # no temporary file left behind


def test_save_into_checks_the_copy_before_it_replaces_anything(tmp_path: Path):
    settings = load_settings()
    folder = tmp_path / "docs"
    good, empty, binary = tmp_path / "good.txt", tmp_path / "empty.txt", tmp_path / "binary.txt"
    good.write_text("青松县的县花是丁香花。", encoding="utf-8")
    empty.write_bytes(b"")
    binary.write_bytes(bytes(range(256)))
    saved = save_into(folder, good, "notes.txt", verify=lambda staged: check_content(staged, settings))
    original = saved.read_bytes()
    for bad, reason in ((empty, "empty"), (binary, "binary")):
        with pytest.raises(UploadRejectedError, match=reason) as refused:
            save_into(folder, bad, "notes.txt", verify=lambda staged: check_content(staged, settings))
        assert str(tmp_path) not in str(refused.value)  # the reason, without the server's paths
        assert saved.read_bytes() == original
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]  # no staging file left behind


def test_documents_dir_defaults_under_home(tmp_path: Path):
    """The default knowledge base's folder; in a home made before knowledge bases, <home>/documents."""
    settings = load_settings(home=tmp_path)
    assert settings.documents_dir == tmp_path / "kbs" / "default" / "documents"
    (tmp_path / "index").mkdir()
    assert load_settings(home=tmp_path).documents_dir == tmp_path / "documents"


def test_parse_history_forms():
    pairs = [["user", "问"], ["assistant", "答"]]
    assert parse_history(pairs) == [("user", "问"), ("assistant", "答")]
    assert parse_history('[{"role": "user", "content": "问"}]') == [("user", "问")]
    assert parse_history(None) == [] and parse_history("") == []
    for bad in ("{", '{"a": 1}', [["system", "x"]], [["user"]], [["user", 3]]):
        with pytest.raises(HistoryFormatError):
            parse_history(bad)
