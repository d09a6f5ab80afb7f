"""``ragchat chat`` saves its conversation, ``--resume ID`` continues it (the stored history
condenses the follow-up), and ``ragchat conversations`` lists, shows and exports them."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from chat.conversations import ConversationStore
from ragchat.cli.main import cli
from ragchat.settings import load_settings

SAVED = re.compile(r"conversation (\S+) saved; continue it with: ragchat chat --resume \1")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("conversations-cli-home")


def test_chat_saves_and_resume_goes_on_from_the_stored_history(home, tmp_path):
    runner = CliRunner(env={"RAGCHAT_HOME": str(home)})
    first = runner.invoke(cli, ["chat"], input="下半年要推进哪些民生工程?\n\n")
    assert first.exit_code == 0, first.output
    conversation_id = SAVED.search(first.output).group(1)

    resumed = runner.invoke(cli, ["chat", "--resume", conversation_id], input="那生态方面呢?\n\n")
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming “下半年要推进哪些民生工程?” (1 turns" in resumed.output
    second = resumed.output.split("? 那生态方面呢?")[1]
    assert "擦亮生态底色" in second or "秸秆" in second  # condensed with the stored first question
    assert SAVED.search(resumed.output).group(1) == conversation_id

    store = ConversationStore(load_settings(home=home).conversations_url)
    try:
        stored = store.get(conversation_id)
    finally:
        store.close()
    assert stored.summary.n_turns == 2
    assert stored.messages[3].answer["standalone_question"] == "下半年生态方面"

    listed = runner.invoke(cli, ["conversations", "list"])
    assert listed.exit_code == 0 and conversation_id in listed.output and "2 turns" in listed.output
    shown = runner.invoke(cli, ["conversations", "show", conversation_id])
    assert "## 2. 那生态方面呢?" in shown.output and "Sources:" in shown.output
    out = tmp_path / "c.md"
    exported = runner.invoke(cli, ["conversations", "export", conversation_id, "-o", str(out)])
    assert exported.exit_code == 0 and out.read_text(encoding="utf-8") == shown.output


def test_an_unknown_id_is_a_one_line_error(home):
    runner = CliRunner(env={"RAGCHAT_HOME": str(home)})
    result = runner.invoke(cli, ["chat", "--resume", "no-such-id"], input="\n")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no conversation 'no-such-id'")
    shown = runner.invoke(cli, ["conversations", "show", "no-such-id"])
    assert shown.exit_code == 1 and "no conversation" in shown.output
