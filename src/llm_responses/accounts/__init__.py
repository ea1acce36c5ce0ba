"""Accounts: server-generated credentials, keyed hashes, and looking up the caller."""
