"""The Gradio chat UI: ``ragchat ui``.

``chat.ui.app``: the Blocks, its handlers and ``launch``; ``chat.ui.render``: escaped
HTML of answers, sources and documents; ``chat.ui.documents``: uploads and the
atomic swap of the answer service after a reindex; ``chat.ui.sessions``: one
session's history and answerer.
"""
