"""ragchat: an offline-first retrieval-augmented Q&A chatbot for reports."""

__version__ = "0.1.0"
