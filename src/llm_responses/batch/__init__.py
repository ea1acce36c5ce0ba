"""Running a prompt set against a server (``llm-responses run``): a client of the public HTTP API only."""
