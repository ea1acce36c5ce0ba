"""Postback and pingback delivery: URLs, the address guard, signing, sending, and the dispatcher loop."""
