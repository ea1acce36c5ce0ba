"""``python -m llm_responses``: the same command as ``llm-responses``."""

from llm_responses.cli import main

main(prog_name="llm-responses")
