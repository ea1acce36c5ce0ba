"""The task lifecycle: create, claim, run, settle, expire; the worker loop."""
