"""The conversation settings at the edges: a bad database stops the commands with one line and no
password; ``config show`` masks it; with ``conversations.enabled`` off the API says so."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ragchat.cli.main import cli
from ragchat.net import free_loopback_port

PASSWORD = "Sup3rSecretPw"


def _unreachable() -> str:
    return f"postgresql+psycopg://ragchat:{PASSWORD}@127.0.0.1:{free_loopback_port()}/ragchat"


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["ui", "--port", "1"],
                                     ["chat"], ["conversations", "list"]])
def test_an_unreachable_database_is_one_line_without_the_password(command, monkeypatch):
    monkeypatch.setenv("RAGCHAT_CONVERSATIONS__URL", _unreachable())
    result = CliRunner().invoke(cli, command, input="\n")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot use the conversation database postgresql")
    assert PASSWORD not in result.output and "***" in result.output


def test_config_show_masks_the_database_password(monkeypatch):
    monkeypatch.setenv("RAGCHAT_CONVERSATIONS__URL", _unreachable())
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0 and PASSWORD not in result.output and "ragchat:***@127.0.0.1" in result.output


def test_with_conversations_off_nothing_is_stored_and_the_api_says_so(tmp_path):
    from fastapi.testclient import TestClient

    from chat.server.app import create_app
    from chat.ui.documents import Library
    from ragchat.settings import load_settings

    settings = load_settings(home=tmp_path, conversations={"enabled": False})
    app = create_app(Library(settings), with_ui=False)  # the index is not needed for these routes
    with TestClient(app) as client:
        for response in (client.get("/v1/conversations"), client.post("/v1/conversations", json={}),
                         client.get("/v1/conversations/abc")):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "conversations_disabled"
    assert not (tmp_path / "conversations.db").exists()
