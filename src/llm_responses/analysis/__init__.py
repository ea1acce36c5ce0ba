"""What stored answers say about tracked brands: mentions, positions, citations, and the metrics over them."""
