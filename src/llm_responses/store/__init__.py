"""Persistence: the ``Store`` (``facade.py``, imported as ``llm_responses.store.Store``), the transactions it
runs (``accounts``, ``tasks``, ``settle``, ``deliveries``, ...), the two database drivers and schema migrations."""

from llm_responses.store.facade import Store

__all__ = ["Store"]
