"""LLM backends behind one request type and one result type (``base.py``)."""
