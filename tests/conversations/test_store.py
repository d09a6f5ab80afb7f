"""The conversation store, the same suite on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from chat.conversations import ConversationStore, Turn
from chat.conversations.export import to_markdown
from chat.conversations.store import ANY_USER
from chat.conversations.types import answer_from_json
from ragchat.errors import ConversationNotFoundError, ConversationStoreError
from tests.conversations.answers import make_answer


def _turn(question: str, text: str, **kw) -> Turn:
    return Turn(question, make_answer(question, text, **kw))


def test_a_turn_comes_back_with_its_answer_and_citations(store: ConversationStore):
    created = store.create(kb="reports", user="alice")
    assert created.title == "" and created.n_turns == 0 and created.kb == "reports"
    assert store.append(created.id, _turn("肉牛养殖量达到多少?", "肉牛养殖量达到131.7万头。")) == 1
    assert store.append(created.id, _turn("那生态方面呢?", "生态方面新增造林5万亩。", page=None)) == 2
    got = store.get(created.id, user="alice")
    assert got.title == "肉牛养殖量达到多少?"  # the first question names it
    assert got.summary.n_turns == 2 and got.summary.user == "alice" and got.summary.kb == "reports"
    assert [(m.turn, m.role) for m in got.messages] == [(1, "user"), (1, "assistant"), (2, "user"), (2, "assistant")]
    assert got.history[1] == ("assistant", "肉牛养殖量达到131.7万头。[1]")
    first = got.messages[1]
    assert first.citations[0].page == 3 and first.citations[0].source == "/docs/report.pdf"
    assert first.citations[0].heading == ("一、经济", "工业")
    assert got.messages[3].citations[0].page is None
    assert got.summary.updated_at >= got.summary.created_at and got.summary.updated_at.tzinfo is not None


def test_a_stored_answer_rebuilds_for_display(store: ConversationStore):
    conversation = store.create()
    answer = make_answer("肉牛养殖量达到多少?", "肉牛养殖量达到131.7万头。")
    store.append(conversation.id, Turn(answer.question, answer))
    rebuilt = answer_from_json(store.get(conversation.id).messages[1].answer)
    assert rebuilt.text == answer.text and rebuilt.citations == answer.citations
    assert [(p.n, p.text, p.pages) for p in rebuilt.passages] == [(1, answer.passages[0].text, ((3, 0),))]


def test_a_new_store_on_the_same_database_sees_everything(store_url):
    first = ConversationStore(store_url)
    conversation = first.create(user=None)
    first.append(conversation.id, _turn("规划建设了多少所社区食堂?", "社区食堂30所。"))
    first.close()
    again = ConversationStore(store_url)  # the tables exist: created once, reused
    try:
        assert again.get(conversation.id).history[0] == ("user", "规划建设了多少所社区食堂?")
    finally:
        again.close()


def test_lists_are_per_user_newest_first_and_paged(store: ConversationStore):
    ids = []
    for i in range(5):
        c = store.create(title=f"alice {i}", user="alice")
        store.append(c.id, _turn(f"q{i}", f"a{i}"))
        ids.append(c.id)
    bob = store.create(title="bob's", user="bob")
    nobody = store.create(title="no login")
    store.append(ids[1], _turn("again", "again"))  # the most recently changed comes first
    page = store.list(user="alice", offset=0, limit=2)
    assert [c.id for c in page.items] == [ids[1], ids[4]] and page.has_more
    rest = store.list(user="alice", offset=2, limit=10)
    assert [c.id for c in rest.items] == [ids[3], ids[2], ids[0]] and not rest.has_more
    assert [c.id for c in store.list(user="bob").items] == [bob.id]
    assert [c.id for c in store.list(user=None).items] == [nobody.id]
    assert store.count(ANY_USER) == 7 and store.count("alice") == 5


def test_another_users_conversation_is_not_found(store: ConversationStore):
    alice = store.create(user="alice")
    for attempt in (lambda: store.get(alice.id, user="bob"), lambda: store.get(alice.id, user=None),
                    lambda: store.rename(alice.id, "x", user="bob"), lambda: store.delete(alice.id, user="bob"),
                    lambda: store.append(alice.id, _turn("q", "a"), user="bob")):
        with pytest.raises(ConversationNotFoundError):
            attempt()
    assert store.get(alice.id, user="alice").summary.n_turns == 0  # nothing was changed


def test_rename_and_delete(store: ConversationStore):
    c = store.create(user="alice")
    store.append(c.id, _turn("第一个问题", "答案"))
    renamed = store.rename(c.id, "  肉牛\n与生态  ", user="alice")
    assert renamed.title == "肉牛 与生态" and store.get(c.id).title == "肉牛 与生态"
    store.append(c.id, _turn("第二个问题", "答案"))
    assert store.get(c.id).title == "肉牛 与生态"  # a later turn keeps the chosen title
    store.delete(c.id, user="alice")
    with pytest.raises(ConversationNotFoundError):
        store.get(c.id)
    with pytest.raises(ConversationNotFoundError):
        store.delete(c.id)
    with pytest.raises(ConversationNotFoundError):
        store.append(c.id, _turn("q", "a"))
    assert store.count() == 0


def test_unknown_ids_are_not_found(store: ConversationStore):
    for bad in ("nope", "", "x" * 500, "'; DROP TABLE conversations; --"):
        with pytest.raises(ConversationNotFoundError):
            store.get(bad)
    assert store.count() == 0


def test_markdown_export_has_questions_answers_and_numbered_sources(store: ConversationStore):
    c = store.create(kb="default")
    store.append(c.id, _turn("肉牛养殖量达到多少?", "肉牛养殖量达到131.7万头。"))
    store.append(c.id, _turn("那生态方面呢?", "新增造林5万亩。", source="/x/plan.docx", page=None))
    text = to_markdown(store.get(c.id))
    assert text.startswith("# 肉牛养殖量达到多少?\n")
    assert "## 1. 肉牛养殖量达到多少?" in text and "## 2. 那生态方面呢?" in text
    assert "肉牛养殖量达到131.7万头。[1]" in text
    assert "1. report.pdf, p. 3 (一、经济 > 工业): “肉牛养殖量达到131.7万头。”" in text
    assert "1. plan.docx (一、经济 > 工业)" in text
    assert text.index("## 1.") < text.index("131.7万头。[1]") < text.index("## 2.")


def test_a_long_first_question_makes_a_short_title(store: ConversationStore):
    c = store.create()
    store.append(c.id, _turn("问" * 500, "答"))
    title = store.get(c.id).title
    assert len(title) == 200 and title.endswith("…")


def test_a_bad_url_is_a_clear_error():
    with pytest.raises(ConversationStoreError, match="not a database URL"):
        ConversationStore("not a url")
    with pytest.raises(ConversationStoreError, match="only sqlite and postgresql"):
        ConversationStore("mysql://u:p@localhost/x")


def test_an_unreachable_server_is_an_error_without_the_password():
    from ragchat.net import free_loopback_port

    url = f"postgresql+psycopg://ragchat:Sup3rSecretPw@127.0.0.1:{free_loopback_port()}/ragchat"
    with pytest.raises(ConversationStoreError) as caught:
        ConversationStore(url)
    message = str(caught.value)
    assert "Sup3rSecretPw" not in message and "***" in message and "127.0.0.1" in message


def test_a_database_of_a_newer_schema_is_refused(store_url):
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from chat.conversations.schema import SCHEMA_VERSION, SchemaRow

    store = ConversationStore(store_url)
    with Session(store.engine) as session, session.begin():
        session.execute(update(SchemaRow).values(version=SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(ConversationStoreError, match="newer than this ragchat"):
        ConversationStore(store_url)


def test_a_new_id_never_reads_as_a_command_line_option():
    # `ragchat conversations show ID`: an id starting with "-" was taken for an option (1 in 64 did).
    from chat.conversations.store import new_id

    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(i.startswith("-") for i in ids)
