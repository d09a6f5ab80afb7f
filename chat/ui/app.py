"""The Gradio app: chat with cited sources, settings, and the document library.

``build_app(library)`` makes the ``gr.Blocks``; ``launch(settings)`` opens the
index in the background (building it on first run), queues requests with the
configured concurrency limit and serves the app. Each browser tab (and each
``gradio_client.Client``) is a session with its own history in ``gr.State``.

API endpoints (stable names, see README "API"):

* ``/ask`` (question, history, k, answerer) → the ``Answer`` JSON (``Answer.to_dict()``);
* ``/chat`` the UI's streaming chat; the history is the session's own;
* ``/clear`` starts a new conversation (the stored one stays in the list);
* ``/conversations`` lists the user's saved conversations; ``/open_conversation`` (id) reopens one
  into the session; ``/rename_conversation`` (title), ``/delete_conversation`` and
  ``/export_conversation`` (a Markdown file) act on the session's open one;
* ``/upload`` (files) and ``/remove`` (document ids) change the index; ``/documents`` lists it;
* ``/not_indexed`` lists the files of the documents folder that the index does not hold, and
  ``/index_not_indexed`` indexes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from chat.conversations import ConversationStore, open_store
from chat.endpoints import configured_base_urls
from chat.ui import assets, render
from chat.ui.conversations import SavedConversations, new_session, turn_title
from chat.ui.documents import Library, Upload, allowed_extensions
from chat.ui.sessions import AnswererChoice, answer_once, parse_history, stream_answer
from ragchat.errors import ConfigError, EmptyQuestionError, InvalidRequestError, RagchatError
from ragchat.settings import Settings

EXAMPLES = [
    "上半年全市GDP增长多少?",
    "规划建设了多少所社区食堂?",
    "肉牛养殖量达到多少?",
    "下半年要推进哪些民生工程?",
    "那生态方面呢?",
    "How much did the city's GDP grow in the first half of the year?",
]

CHAT_CONCURRENCY = "answers"  # /chat and /ask share the configured concurrency limit
INDEX_CONCURRENCY = "index"  # changes to the index run one at a time


class Handlers:
    """The app's event handlers, over one :class:`Library`. Per-session data comes in and goes out
    through ``gr.State``; nothing here holds a session's data."""

    def __init__(self, library: Library, saved: SavedConversations | None = None) -> None:
        self.library = library
        self.saved = saved  # None when conversations are not stored

    # --- chat ------------------------------------------------------------------------------

    def chat(self, text: str, k: float, answerer: str, base_url: str, model: str, api_key: str,
             session: dict[str, Any], request: gr.Request):
        """Stream the answer to ``text`` into the chat; at the end, its sources, warnings and JSON.
        The base URL must be one the settings allow the logged-in user (see ``chat.endpoints``).

        Yields (messages, sources, warnings, answer JSON, session, question box).
        """
        session = dict(session)
        if not (text or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), session, gr.skip()
            return
        turn = len(session["turns"]) + 1
        messages = list(session["messages"]) + [
            {"role": "user", "content": render.markdown_text(text)},
            {"role": "assistant", "content": "…"},
        ]
        if not self.library.ready:
            messages[-1] = {"role": "assistant", "content": _status(self.library)}
            yield messages, gr.skip(), "", gr.skip(), session, ""
        try:
            service = self.library.wait()
        except RagchatError as exc:
            raise gr.Error(f"the index could not be opened: {exc}") from None
        choice = AnswererChoice(answerer or "extractive", base_url or "", model or "", api_key or "",
                                user=request.username)
        partial, answer = "", None
        try:
            for event in stream_answer(service, text, session["history"], choice, k):
                if event.answer is not None:
                    answer = event.answer
                    break
                if event.notice:
                    partial = ""
                    messages[-1] = {"role": "assistant", "content": "⚠ " + render.markdown_text(event.notice)}
                else:
                    partial += event.text
                    messages[-1] = {"role": "assistant", "content": render.markdown_text(partial) + " ▍"}
                yield messages, gr.skip(), "", gr.skip(), session, ""
        except RagchatError as exc:
            plain = isinstance(exc, (EmptyQuestionError, InvalidRequestError))  # the asker's to fix
            raise gr.Error(str(exc) if plain else f"no answer: {exc}") from None
        assert answer is not None
        messages[-1] = {"role": "assistant", "content": render.answer_message(answer, turn)}
        title = turn_title(text, answer)
        session["conversation_id"] = self._record(session.get("conversation_id"), text, answer, request.username)
        session["messages"] = messages
        session["history"] = list(session["history"]) + [("user", text), ("assistant", answer.text)]
        session["turns"] = list(session["turns"]) + [(turn, title, render.sources_html(answer, turn))]
        yield (messages, render.sources_panel(session["turns"]),
               render.warnings_html(render.warnings_of(answer)), answer.to_dict(), session, "")

    def _record(self, conversation_id: str | None, question: str, answer, user: str | None) -> str | None:
        """Store the turn; a failing database warns and the answer stays on the screen."""
        if self.saved is None:
            return None
        try:
            return self.saved.record(conversation_id, question, answer, user)
        except RagchatError as exc:
            gr.Warning(f"the conversation was not saved: {exc}")
            return conversation_id

    @staticmethod
    def clear():
        """Start a new conversation: (messages, sources, warnings, answer JSON, session)."""
        return [], render.sources_panel([]), "", None, new_session()

    # --- saved conversations -------------------------------------------------------------

    def conversation_list(self, session: dict[str, Any], request: gr.Request):
        """The user's saved conversations, the session's open one selected; (list, title box)."""
        if self.saved is None:
            return gr.skip(), gr.skip()
        current = session.get("conversation_id")
        try:
            choices = self.saved.choices(request.username)
        except RagchatError as exc:
            raise gr.Error(f"the saved conversations cannot be read: {exc}") from None
        title = next((label.rsplit(" · ", 1)[0] for label, cid in choices if cid == current), "")
        return gr.Radio(choices=choices, value=current), title

    def open_conversation(self, conversation_id: str | None, request: gr.Request):
        """Reopen a saved conversation: (messages, sources, warnings, answer JSON, session)."""
        if self.saved is None or not conversation_id:
            return self.clear()
        try:
            session = self.saved.reopen(conversation_id, request.username)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return session["messages"], render.sources_panel(session["turns"]), "", None, session

    def rename_conversation(self, title: str, session: dict[str, Any], request: gr.Request) -> None:
        """Rename the open conversation."""
        conversation_id = self._open_id(session)
        if not (title or "").strip():
            raise gr.Error("type a title first")
        try:
            self.saved.store.rename(conversation_id, title, user=request.username)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None

    def delete_conversation(self, session: dict[str, Any], request: gr.Request):
        """Delete the open conversation and start a new one: (messages, sources, warnings, answer JSON, session)."""
        conversation_id = self._open_id(session)
        try:
            self.saved.store.delete(conversation_id, user=request.username)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return self.clear()

    def export_conversation(self, session: dict[str, Any], request: gr.Request) -> str:
        """The open conversation as a Markdown file (questions, answers, numbered sources)."""
        conversation_id = self._open_id(session)
        try:
            return str(self.saved.export(conversation_id, request.username))
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None

    def _open_id(self, session: dict[str, Any]) -> str:
        if self.saved is None:
            raise gr.Error("conversations are not stored (conversations.enabled is off)")
        conversation_id = session.get("conversation_id")
        if not conversation_id:
            raise gr.Error("no saved conversation is open: ask a question, or choose one in the list")
        return conversation_id

    def conversations(self, request: gr.Request) -> list:
        """The user's saved conversations, newest first: id, title, kb, created_at, updated_at, turns."""
        if self.saved is None:
            return []
        try:
            page = self.saved.store.list(user=request.username, limit=self.saved.page_size)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return [{"id": s.id, "title": s.title, "kb": s.kb, "created_at": s.created_at.isoformat(),
                 "updated_at": s.updated_at.isoformat(), "turns": s.n_turns} for s in page.items]

    # --- documents -------------------------------------------------------------------------

    def library_view(self):
        """(document table, remove choices), once the index is open."""
        if not self.library.ready or self.library.error is not None:
            return gr.skip(), gr.skip()
        rows = self.library.documents()
        choices = [(f"{Path(r['source']).name} ({r['n_chunks']} chunks)", r["doc_id"]) for r in rows]
        return render.documents_html(rows), gr.Dropdown(choices=choices, value=None, multiselect=True)

    def not_indexed_view(self):
        """(the not-indexed list, the "Index them" button), once the index is open."""
        if not self.library.ready or self.library.error is not None:
            return gr.skip(), gr.skip()
        names = [p.name for p in self.library.not_indexed()]
        return render.not_indexed_html(names), gr.Button(visible=bool(names))

    def upload(self, paths: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        """Save and index uploaded files: (result, table, choices, result JSON, file box, status)."""
        _need_index(self.library)
        if not paths:
            raise gr.Error("choose one or more files to upload first")
        uploads = [Upload(Path(p), Path(p).name) for p in paths]
        try:
            result = self.library.add(uploads, lambda fraction, desc: progress(fraction, desc=desc))
        except RagchatError as exc:
            raise gr.Error(f"the index was not changed: {exc}") from None
        finally:
            for upload in uploads:  # Gradio's temporary copy: the document now lives in documents_dir
                Path(upload.path).unlink(missing_ok=True)
        return (render.update_html(result.to_dict()), *self.library_view(), result.to_dict(), None,
                _status(self.library))

    def remove(self, targets: list[str] | None):
        """Remove documents by id: (result, table, choices, result JSON, status)."""
        _need_index(self.library)
        if not targets:
            raise gr.Error("choose the documents to remove first")
        try:
            result = self.library.remove(targets)
        except RagchatError as exc:
            raise gr.Error(f"the index was not changed: {exc}") from None
        return render.update_html(result.to_dict()), *self.library_view(), result.to_dict(), _status(self.library)

    def index_not_indexed(self):
        """Index the files of the documents folder that the index does not hold:
        (result, table, choices, result JSON, status)."""
        _need_index(self.library)
        try:
            result = self.library.index_not_indexed()
        except RagchatError as exc:
            raise gr.Error(f"the index was not changed: {exc}") from None
        return render.update_html(result.to_dict()), *self.library_view(), result.to_dict(), _status(self.library)

    def tick(self):
        """(status, table, choices, timer, not-indexed list, its button): polled until the index is open."""
        return (_status(self.library), *self.library_view(), gr.Timer(active=not self.library.ready),
                *self.not_indexed_view())

    # --- API only ----------------------------------------------------------------------------

    def ask(self, question: str, history: list | str | None = None, k: int | None = None,
            answerer: str | None = None) -> dict:
        """Answer a question. history: [[role, text], ...] or [{"role", "content"}, ...] (roles
        user/assistant), oldest first; k: passages to retrieve (1 to 100; empty: retrieval.k);
        answerer: extractive or llm.
        Returns the Answer JSON (the shape of `ragchat ask --json`)."""
        try:
            turns = parse_history(history)
            service = self.library.wait()
            choice = AnswererChoice(answerer or ("llm" if service.endpoint is not None else "extractive"))
            return answer_once(service, question, turns, choice, k).to_dict()
        except (RagchatError, ValueError) as exc:
            raise gr.Error(str(exc)) from None

    def documents(self) -> list:
        """The indexed documents: doc_id, source, n_chunks, n_chars, bytes, indexed_at."""
        _need_index(self.library)
        return self.library.documents()

    def not_indexed(self) -> list:
        """The names of the files in the documents folder that the index does not hold."""
        _need_index(self.library)
        return [p.name for p in self.library.not_indexed()]


def build_app(library: Library, conversations: ConversationStore | None = None) -> gr.Blocks:
    """The Blocks: a Chat tab and a Documents tab, wired to :class:`Handlers`. ``conversations``:
    the store of saved conversations; by default the settings' one (none when they are off)."""
    settings = library.settings
    store = conversations if conversations is not None else open_store(settings)
    saved = SavedConversations(store, settings.conversations.page_size) if store is not None else None
    handlers = Handlers(library, saved)
    with gr.Blocks(title="ragchat", analytics_enabled=False) as demo:
        gr.Markdown("## ragchat: questions about your reports, answered with cited passages")
        status = gr.Markdown(_status(library), label="status", elem_id="rc-status")
        with gr.Tab("Chat"):
            relist = _chat_tab(handlers, library.settings)
        with gr.Tab("Documents"):
            documents, to_remove, unindexed, index_them = _documents_tab(handlers, library.settings, status)
        timer = gr.Timer(1.0)
        outputs = [status, documents, to_remove, timer, unindexed, index_them]
        timer.tick(handlers.tick, None, outputs, queue=False, api_visibility="private", show_progress="hidden")
        demo.load(handlers.tick, None, outputs, queue=False, api_visibility="private", show_progress="hidden")
        if relist is not None:  # the user's saved conversations, after a reload or a restart too
            demo.load(**relist)
        gr.api(handlers.ask, api_name="ask", concurrency_id=CHAT_CONCURRENCY)
        gr.api(handlers.documents, api_name="documents", queue=False)
        gr.api(handlers.conversations, api_name="conversations", queue=False)
        gr.api(handlers.not_indexed, api_name="not_indexed", queue=False)
    return demo


def _chat_tab(handlers: Handlers, settings: Settings) -> dict[str, Any] | None:
    """The chat; returns the event that refreshes the saved conversations' list (None without them)."""
    state = gr.State(new_session())
    with gr.Row(equal_height=False):
        saved = _conversations_column(handlers) if handlers.saved is not None else None
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation", elem_id="rc-chat", height=460, latex_delimiters=[],
                feedback_options=None, buttons=["copy"], sanitize_html=True,
            )
            question = gr.Textbox(
                label="Question", placeholder="Ask about the documents (Chinese or English)",
                elem_id="rc-question", lines=1, max_lines=4, autofocus=True,
            )
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="rc-ask")
                clear = gr.Button("New conversation", elem_id="rc-clear")
            gr.Examples(EXAMPLES, inputs=[question], label="Examples")
        with gr.Column(scale=2):
            warnings = gr.HTML("", label="warnings", elem_id="rc-warnings")
            gr.Markdown("### Sources")
            sources = gr.HTML(render.sources_panel([]), label="sources", elem_id="rc-sources")
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            k = gr.Slider(1, 20, value=settings.retrieval.k, step=1, label="Passages retrieved (top-k)")
            answerer = gr.Radio(
                ["extractive", "llm"], label="Answerer",
                value="llm" if settings.llm.base_url and settings.llm.model else "extractive",
                info="extractive: sentences of the documents, no model; llm: an OpenAI-compatible endpoint",
            )
        with gr.Row():
            configured = configured_base_urls(settings)
            base_url = gr.Textbox(settings.llm.base_url, label="LLM base URL", placeholder="http://127.0.0.1:8080/v1",
                                  info=f"configured: {', '.join(configured)}" if configured else None)
            model = gr.Textbox(settings.llm.model, label="LLM model")
            api_key = gr.Textbox("", label="API key", type="password",
                                 placeholder="sent to the endpoint only; never stored or shown")
    with gr.Accordion("Answer JSON (what /ask returns)", open=False):
        answer_json = gr.JSON(label="Answer")

    inputs = [question, k, answerer, base_url, model, api_key, state]
    outputs = [chatbot, sources, warnings, answer_json, state, question]
    cleared = [chatbot, sources, warnings, answer_json, state]
    asked = ask.click(handlers.chat, inputs, outputs, api_name="chat", concurrency_id=CHAT_CONCURRENCY)
    submitted = question.submit(handlers.chat, inputs, outputs, api_name="chat_submit", api_visibility="undocumented",
                                concurrency_id=CHAT_CONCURRENCY)
    cleared_events = [clear.click(handlers.clear, None, cleared, api_name="clear", queue=False),
                      chatbot.clear(handlers.clear, None, cleared, api_visibility="private", queue=False)]
    if saved is None:
        return None
    listing, title, rename, delete, export, exported = saved
    relist = dict(fn=handlers.conversation_list, inputs=[state], outputs=[listing, title], queue=False,
                  api_visibility="private", show_progress="hidden")
    for event in (asked, submitted, *cleared_events):
        event.then(**relist)
    listing.input(handlers.open_conversation, [listing], cleared, api_name="open_from_list",
                  api_visibility="private").then(**relist)
    # the API's way in: an id as text (the list accepts only the ids it shows this session)
    open_id = gr.Textbox(visible=False)
    open_by_id = gr.Button(visible=False)
    open_by_id.click(handlers.open_conversation, [open_id], cleared, api_name="open_conversation").then(**relist)
    rename.click(handlers.rename_conversation, [title, state], None, api_name="rename_conversation",
                 queue=False).then(**relist)
    delete.click(handlers.delete_conversation, [state], cleared, api_name="delete_conversation",
                 queue=False).then(**relist)
    export.click(handlers.export_conversation, [state], [exported], api_name="export_conversation")
    return relist


def _conversations_column(handlers: Handlers):
    """The saved conversations: the list (click one to reopen it), rename, delete, export."""
    with gr.Column(scale=1, min_width=220):
        listing = gr.Radio([], value=None, label="Saved conversations", elem_id="rc-conversations",
                           info="Click one to reopen it.")
        title = gr.Textbox("", label="Title", elem_id="rc-conversation-title", max_lines=1)
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rc-rename")
            delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rc-delete")
        export = gr.Button("Export as Markdown", size="sm", elem_id="rc-export")
        exported = gr.File(label="Markdown export", interactive=False, elem_id="rc-exported")
    return listing, title, rename, delete, export, exported


def _documents_tab(handlers: Handlers, settings: Settings,
                   status: gr.Markdown) -> tuple[gr.HTML, gr.Dropdown, gr.HTML, gr.Button]:
    gr.Markdown(
        f"Upload {', '.join(allowed_extensions(settings))} files, at most {settings.ui.max_upload_mb:g} MiB "
        "each; many at once. Questions keep being answered from the previous index until the new one is ready."
    )
    files = gr.File(label="Files to add", file_count="multiple", type="filepath", elem_id="rc-files")
    upload = gr.Button("Upload and index", variant="primary", elem_id="rc-upload")
    result = gr.HTML("", label="update", elem_id="rc-update")
    result_json = gr.JSON(label="Result", visible=False)
    gr.Markdown("### Indexed documents")
    documents = gr.HTML("", label="documents", elem_id="rc-documents")
    with gr.Row():
        to_remove = gr.Dropdown([], multiselect=True, label="Documents to remove", allow_custom_value=True,
                                scale=4, elem_id="rc-remove-choice")
        remove = gr.Button("Remove", variant="stop", scale=1, elem_id="rc-remove")
    unindexed = gr.HTML("", label="not indexed", elem_id="rc-not-indexed")
    index_them = gr.Button("Index them", visible=False, elem_id="rc-index-them")
    changed = [result, documents, to_remove, result_json, status]
    unindexed_view = dict(fn=handlers.not_indexed_view, inputs=None, outputs=[unindexed, index_them],
                          queue=False, api_visibility="private", show_progress="hidden")
    upload.click(handlers.upload, [files], [result, documents, to_remove, result_json, files, status],
                 api_name="upload", concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    remove.click(handlers.remove, [to_remove], changed,
                 api_name="remove", concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    index_them.click(handlers.index_not_indexed, None, changed, api_name="index_not_indexed",
                     concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    return documents, to_remove, unindexed, index_them


def _need_index(library: Library) -> None:
    try:
        library.wait(timeout=600)
    except (RagchatError, TimeoutError) as exc:
        raise gr.Error(f"the index is not available: {exc}") from None


def _status(library: Library) -> str:
    if not library.ready:
        if library.first_build:
            return ("**Building the index of the bundled report** (first run, about 10–20 s)… "
                    "Questions wait until it is ready.")
        return "**Opening the index…**"
    if library.error is not None:
        return f"⚠ The index could not be opened: {library.error}"
    snapshot = library.service.snapshot
    ready = f"Ready: {len(snapshot.documents)} document(s), {len(snapshot.chunks)} chunks."
    orphans = len(library.not_indexed())
    if orphans:
        ready += f" {orphans} file(s) in the documents folder are not indexed: see Documents."
    if snapshot.damage:
        ready += f" ⚠ The live index version is damaged: {snapshot.damage}. Answering from the older version meanwhile."
    return ready


def auth_from_settings(settings: Settings) -> tuple[str, str] | None:
    """The login, when ``ui.auth_username`` is set; the password comes from its environment variable."""
    user = settings.ui.auth_username.strip()
    if not user:
        return None
    password = os.environ.get(settings.ui.auth_password_env, "")
    if not password:
        raise ConfigError(
            f"ui.auth_username is set but ${settings.ui.auth_password_env} is empty; "
            "set the password in that environment variable, or clear ui.auth_username"
        )
    return (user, password)


def theme() -> gr.themes.Base:
    """The default theme with system fonts: nothing is fetched from the network."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(settings: Settings, host: str | None = None, port: int | None = None, block: bool = True,
           library: Library | None = None, quiet: bool = False,
           conversations: ConversationStore | None = None) -> tuple[gr.Blocks, str]:
    """Serve the app; returns the Blocks and its URL (``block=False`` returns at once)."""
    auth = auth_from_settings(settings)
    if library is None:
        library = Library(settings)
        library.start()
    demo = build_app(library, conversations)
    demo.queue(default_concurrency_limit=settings.ui.concurrency_limit)
    _, url, _ = demo.launch(
        server_name=host or settings.ui.host,
        server_port=port or settings.ui.port,
        auth=auth,
        auth_message="ragchat: log in to ask about the documents." if auth else None,
        max_file_size=int(settings.ui.max_upload_mb * 2**20),
        prevent_thread_lock=not block,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        run_history=False,  # it would keep every call's inputs (the API key too) in the browser
        footer_links=["api", "settings"],
        theme=theme(),
        css=assets.CSS,
        head=assets.HEAD,
    )
    return demo, url
