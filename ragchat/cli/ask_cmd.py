"""``ragchat ask`` and ``ragchat chat``: answers with their cited passages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ragchat.cli.options import answerer_option, index_dir_option, k_option, settings_from



def _service(ctx: click.Context, index_dir: Path | None):
    from chat.service import AnswerService

    settings = settings_from(ctx)
    if index_dir is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index_dir})})
    service = AnswerService.from_settings(settings, progress=True, on_wait=_say_waiting(settings))
    if service.snapshot.damage:
        click.secho(f"warning: {service.snapshot.damage}; answering from the older version "
                    f"{service.snapshot.path.name}", fg="red", err=True)
    return service


def _say_waiting(settings):
    def say(holder: str) -> None:
        click.secho(f"process {holder} is building the index; waiting for it "
                    f"(up to {settings.index.first_build_wait_s:g} s)", err=True)
    return say


def _print_answer(answer) -> None:
    if answer.refused:
        click.secho(answer.text, fg="yellow")
        if answer.refusal_reason:
            click.secho(f"({answer.refusal_reason})", dim=True)
    for warning in answer.checks.warnings + answer.notes:
        click.secho(f"warning: {warning}", fg="red", err=True)
    if not answer.citations:
        return
    click.echo("\nsources:")
    for c in answer.citations:
        heading = " > ".join(c.heading)
        page = f"  p. {c.page}" if c.page is not None else ""
        click.echo(f"[{c.n}] {Path(c.source).name}{page}  {heading}")
        click.echo(f"    “{c.quote}”  (characters {c.start}–{c.end})")


def _stream(service, question, history, answerer, k):
    """Print the answer as it arrives; on an LLM failure warn, then print the extractive answer."""
    from chat.types import Answer, Notice

    for piece in service.stream(question, history, answerer=answerer, k=k, fallback=True):
        if isinstance(piece, Answer):
            click.echo()
            return piece
        if isinstance(piece, Notice):
            click.echo()
            click.secho(f"warning: {piece.text}", fg="red", err=True)
        elif not _refusal_piece(service, piece):
            click.echo(piece, nl=False)
    return None


def _refusal_piece(service, piece: str) -> bool:
    from prompts import refusal

    return piece in (refusal("zh"), refusal("en"))


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@answerer_option
@k_option
@index_dir_option
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, answerer: str | None, k: int | None,
        index_dir: Path | None) -> None:
    """Answer QUESTION from the index, with the cited passages."""
    service = _service(ctx, index_dir)
    if as_json:
        answer = service.answer(question, answerer=answerer, k=k)
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    answer = _stream(service, question, [], answerer, k)
    _print_answer(answer)


@click.command()
@click.option("--resume", "resume", metavar="ID", default=None,
              help="Continue a saved conversation (`ragchat conversations list` shows them).")
@answerer_option
@k_option
@index_dir_option
@click.pass_context
def chat(ctx: click.Context, resume: str | None, answerer: str | None, k: int | None, index_dir: Path | None) -> None:
    """An interactive session; follow-up questions use the history. Empty line or Ctrl-D ends it.
    The conversation is saved (conversations.enabled); its id is printed at the end."""
    from chat.conversations import Turn, open_store
    from chat.live import LiveService
    from ragchat.errors import ChatError

    store = open_store(settings_from(ctx))
    conversation_id, history = None, []
    if resume is not None:
        if store is None:
            raise click.ClickException("conversations are not stored (conversations.enabled is off)")
        stored = store.get(resume)  # an unknown id: a one-line error, exit 1
        conversation_id, history = stored.id, stored.history
        click.echo(f"Resuming “{stored.title}” ({stored.summary.n_turns} turns, knowledge base {stored.summary.kb}).")
    live = LiveService(_service(ctx, index_dir))  # another process may write the index during the session
    click.echo("Ask about the documents (empty line or Ctrl-D to quit, /clear to start a new conversation).")
    while True:
        try:
            question = click.prompt("?", prompt_suffix=" ", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        if question.strip() == "/clear":
            _say_saved(conversation_id)
            conversation_id, history = None, []
            click.echo("(new conversation)")
            continue
        try:
            answer = _stream(live.get(), question, history, answerer, k)
        except ChatError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            continue
        _print_answer(answer)
        history += [("user", question), ("assistant", answer.text)]
        if store is not None:
            conversation_id = conversation_id or store.create().id
            store.append(conversation_id, Turn(question, answer))
    _say_saved(conversation_id)
    sys.exit(0)


def _say_saved(conversation_id: str | None) -> None:
    if conversation_id is not None:
        click.echo(f"conversation {conversation_id} saved; continue it with: ragchat chat --resume {conversation_id}",
                   err=True)
