"""Vendor batch APIs for queued tasks: the batcher that runs in the worker (the clients are the vendors\x27)."""
