"""The typed errors of the library.

Library code raises these; only the CLI and the UI turn them into messages.
Every message says what went wrong and, where it can, what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class RagchatError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(RagchatError):
    """The settings file or environment holds an invalid value."""


class InputNotFoundError(RagchatError):
    """A file or folder named as input does not exist: a mistake in the command, not a bad file."""


# --- ingest -----------------------------------------------------------------


class DocumentError(RagchatError):
    """A single document could not be ingested. Batches skip it and go on."""

    reason = "could not be read"

    def __init__(self, path: Path | str, detail: str = "") -> None:
        self.path = Path(path)
        self.detail = detail
        message = f"{self.path}: {self.reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class EmptyDocumentError(DocumentError):
    reason = "the file is empty or holds no text"


class BinaryFileError(DocumentError):
    reason = "the file is binary, not text"


class UnsupportedFileTypeError(DocumentError):
    reason = "unsupported file type"


class DecodeError(DocumentError):
    reason = "cannot decode the text with confidence (tried UTF-8, UTF-16, GB18030/GBK, Big5)"


class FileTooLargeError(DocumentError):
    reason = "the file is larger than the configured limit"


class UnreadableFileError(DocumentError):
    reason = "the file cannot be read"


class MalformedDocumentError(DocumentError):
    reason = "the file is malformed"


class TokenizerError(RagchatError):
    """The tiktoken encoding cannot be loaded offline."""


# --- index ------------------------------------------------------------------


class IndexStoreError(RagchatError):
    """Base class of index errors."""


class EmbeddingError(IndexStoreError):
    """An embedding model could not be loaded or failed to embed."""


class MissingDependencyError(RagchatError):
    """An optional dependency is not installed; the message names the extra."""


class IndexNotFoundError(IndexStoreError):
    """No index at the given directory (never built, or deleted): build it first."""


class CorruptIndexError(IndexStoreError):
    """An index directory is incomplete, truncated or altered: rebuild it from the chunks."""


class IncompatibleIndexError(IndexStoreError):
    """An index was written by another format or tokenizer version: rebuild it from the chunks."""


class ModelMismatchError(IndexStoreError):
    """The index was built with another embedding model or dimension."""


class IndexLockedError(IndexStoreError):
    """Another process is changing the index."""


class IndexBackendUnavailableError(IndexStoreError):
    """The index backend (a Milvus server, or Milvus Lite's local process) cannot be reached."""


# --- chat -------------------------------------------------------------------


class ChatError(RagchatError):
    """Base class of errors on the answer path."""


class EmptyQuestionError(ChatError):
    """The question is empty, only whitespace, or has no words (only punctuation or symbols)."""


class InvalidRequestError(ChatError):
    """A request's parameter is out of range or of the wrong type (for example ``k``)."""


class LLMError(ChatError):
    """The LLM endpoint failed; the extractive answer can be offered instead."""


class LLMUnavailableError(LLMError):
    """The endpoint cannot be reached (refused, unknown host, closed mid-answer)."""


class LLMTimeoutError(LLMError):
    """The endpoint did not answer within the timeout."""


class LLMBadResponseError(LLMError):
    """The endpoint answered with something that is not a chat completion."""


# --- conversations ------------------------------------------------------------


class ConversationError(RagchatError):
    """Base class of the errors of the conversation store."""


class ConversationNotFoundError(ConversationError):
    """No conversation with this id (for this user): it was deleted, or the id is mistyped."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"no conversation {conversation_id!r:.60}; `ragchat conversations list` shows the stored ones")


class ConversationStoreError(ConversationError):
    """The conversation database cannot be used: a bad URL, an unreachable server, a newer schema."""


# --- knowledge bases ----------------------------------------------------------


class KnowledgeBaseError(RagchatError):
    """Base class of knowledge-base errors."""


class InvalidKnowledgeBaseNameError(KnowledgeBaseError):
    """A knowledge-base name that is empty, too long, reserved, or holds a character other than
    letters, digits, ``-`` and ``_``."""


class KnowledgeBaseNotFoundError(KnowledgeBaseError):
    """No knowledge base of that name: ``ragchat kb list`` lists them."""


class KnowledgeBaseExistsError(KnowledgeBaseError):
    """A knowledge base of that name exists already."""


class ProtectedKnowledgeBaseError(KnowledgeBaseError):
    """The change is refused for this knowledge base (the default one cannot be deleted)."""


class EmptyKnowledgeBaseError(KnowledgeBaseError):
    """The knowledge base holds no documents yet: add some first."""
