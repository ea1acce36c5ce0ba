"""The DataForSEO wire format: envelopes, request validation, result rendering. Imports nothing of ours."""
