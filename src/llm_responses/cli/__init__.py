"""The ``llm-responses`` command. Thin: parses arguments and calls into the packages.

One module per command family; importing them registers their commands on ``main``.
"""

from llm_responses.cli import accounts, export, mentions, run, search_index, serve, track  # noqa: F401  (registers the commands)
from llm_responses.cli.group import main

__all__ = ["main"]
