"""llm-responses: a self-hosted, wire-compatible DataForSEO LLM Responses API."""

__version__ = "0.1.0"
