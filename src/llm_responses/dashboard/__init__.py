"""The dashboard: server-rendered pages (Jinja2, no JS build) over the account's stored answers."""
