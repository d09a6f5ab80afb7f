"""Several threads and several processes appending to one conversation lose no turn and mix none,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from chat.conversations import ConversationStore
from tests.conversations.answers import append_many

THREADS, PROCESSES, TURNS_EACH = 6, 3, 8


def _check_every_turn_is_there(store: ConversationStore, conversation_id: str, numbers: list[int],
                               workers: int) -> None:
    total = workers * TURNS_EACH
    assert sorted(numbers) == list(range(1, total + 1))  # each append got its own number
    conversation = store.get(conversation_id)
    assert conversation.summary.n_turns == total
    messages = conversation.messages
    assert len(messages) == 2 * total
    for question, answer in zip(messages[0::2], messages[1::2]):
        assert question.role == "user" and answer.role == "assistant" and question.turn == answer.turn
        worker, i = question.text[1:].split("-")
        assert answer.text == f"a{worker}-{i}[1]"  # each answer sits with its own question
    assert {m.text for m in messages[0::2]} == {f"w{w}-{i}" for w in range(workers) for i in range(TURNS_EACH)}


def test_threads_appending_to_one_conversation_lose_no_turn(store: ConversationStore, store_url):
    conversation = store.create(title="threads")
    with ThreadPoolExecutor(THREADS) as pool:  # one store, shared by the threads, as in the server
        futures = [pool.submit(_append_with, store, conversation.id, w) for w in range(THREADS)]
        numbers = [n for f in futures for n in f.result()]
    _check_every_turn_is_there(store, conversation.id, numbers, THREADS)


def _append_with(store: ConversationStore, conversation_id: str, worker: int) -> list[int]:
    from chat.conversations import Turn
    from tests.conversations.answers import make_answer

    return [store.append(conversation_id, Turn(f"w{worker}-{i}", make_answer(f"w{worker}-{i}", f"a{worker}-{i}")))
            for i in range(TURNS_EACH)]


def test_processes_appending_to_one_conversation_lose_no_turn(store: ConversationStore, store_url):
    conversation = store.create(title="processes")
    context = multiprocessing.get_context("spawn")  # fresh interpreters, each with its own engine
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(append_many, store_url, conversation.id, w, TURNS_EACH) for w in range(PROCESSES)]
        numbers = [n for f in futures for n in f.result()]
    _check_every_turn_is_there(store, conversation.id, numbers, PROCESSES)
