"""``python -m llm_responses.cli``: the ``llm-responses`` command."""

from llm_responses.cli import main

main(prog_name="llm-responses")
