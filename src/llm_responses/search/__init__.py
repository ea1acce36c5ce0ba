"""Web search for models whose backend has none of its own: backends, query planning, grounding."""
