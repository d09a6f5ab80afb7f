"""The ``ragchat`` command. Library errors become messages here and nowhere else."""

from ragchat.cli.main import main

__all__ = ["main"]
