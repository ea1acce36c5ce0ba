"""Persistence: the ``Store`` interface (base.py), its implementations, and schema migrations."""
