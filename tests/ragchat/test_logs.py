"""The one logging setup (ragchat.logs): the level from ``--log-level``, ``$RAGCHAT_LOG_LEVEL`` or
WARNING, one handler, and the secrets of the settings masked at every level."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from ragchat import logs
from ragchat.cli.main import cli

KEY = "sk-logs-test-0123456789"
TOKEN = "tok-logs-test-abcdef"


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch):
    monkeypatch.delenv(logs.ENV_VAR, raising=False)
    root = logging.getLogger()
    handlers, level, secrets = list(root.handlers), root.level, logs._MASK.secrets
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._MASK.secrets = secrets
    logging.getLogger(logs.REQUEST_LOG).setLevel(logging.NOTSET)
    for name in logs.CONTENT_AT_INFO:
        logging.getLogger(name).setLevel(logging.NOTSET)


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]


def test_the_level_is_the_option_else_the_environment_else_warning(monkeypatch):
    assert logs.setup_logging(None) == "WARNING"
    assert logging.getLogger().level == logging.WARNING
    monkeypatch.setenv(logs.ENV_VAR, "debug")
    assert logs.setup_logging(None) == "DEBUG"
    assert logs.setup_logging("error") == "ERROR"  # the option wins over the environment
    assert logging.getLogger().level == logging.ERROR
    assert len(_ours()) == 1  # one handler, however often the setup runs
    with pytest.raises(ValueError, match="not one of DEBUG, INFO"):
        logs.setup_logging("loud")


def test_sql_statements_and_their_parameters_only_at_debug():
    """SQLAlchemy logs each statement with its parameters (saved questions) at INFO."""
    engine_log = logging.getLogger("sqlalchemy.engine.Engine")
    logs.setup_logging("INFO")
    assert logging.getLogger("ragchat.any").isEnabledFor(logging.INFO) and not engine_log.isEnabledFor(logging.INFO)
    logs.setup_logging("DEBUG")
    assert engine_log.isEnabledFor(logging.INFO)


def test_the_request_log_is_info_unless_a_level_is_chosen(monkeypatch):
    logs.setup_logging(None)
    logs.serve_request_log(None)
    request_log = logging.getLogger(logs.REQUEST_LOG)
    assert request_log.isEnabledFor(logging.INFO) and not logging.getLogger("other").isEnabledFor(logging.INFO)
    logs.setup_logging("ERROR")
    logs.serve_request_log("ERROR")
    assert not request_log.isEnabledFor(logging.WARNING)  # the chosen level applies to it too


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(capsys):
    logs.setup_logging("DEBUG")
    logs.mask_secrets([KEY, "", "  "])
    log = logging.getLogger("httpx")
    log.debug("headers: %s", {"authorization": f"Bearer {KEY}"})
    try:
        raise RuntimeError(f"the endpoint refused {KEY}")
    except RuntimeError:
        log.exception("call failed")
    err = capsys.readouterr().err
    assert KEY not in err
    assert "'Bearer ***'" in err and "RuntimeError: the endpoint refused ***" in err
    assert "DEBUG httpx: headers" in err


def test_the_cli_sets_the_level_and_masks_the_secrets_of_its_settings(tmp_path, capsys):
    env = {"RAGCHAT_SERVE__TOKENS": f'["{TOKEN}"]', "RAGCHAT_LLM_API_KEY": KEY}
    result = CliRunner().invoke(cli, ["--log-level", "info", "config", "show"], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    assert logging.getLogger().level == logging.INFO
    logging.getLogger("ragchat.test").warning("token %s, key %s", TOKEN, KEY)
    err = capsys.readouterr().err
    assert "token ***, key ***" in err and TOKEN not in err and KEY not in err


def test_the_environment_sets_the_level_and_a_bad_level_is_refused():
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "show"], env={logs.ENV_VAR: "DEBUG"}).exit_code == 0
    assert logging.getLogger().level == logging.DEBUG
    bad = runner.invoke(cli, ["config", "show"], env={logs.ENV_VAR: "loud"})
    assert bad.exit_code == 2 and "Invalid value for '--log-level'" in bad.output
