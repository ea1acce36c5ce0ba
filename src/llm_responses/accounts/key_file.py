"""Where the credential HMAC key lives: outside the database it protects.

Credentials are stored as HMAC digests; with the key in the same database, a copy of the database (a
backup, a dump) is all an attacker needs to test guesses offline. So the key comes from
``LLM_RESPONSES_SECRET_KEY``, or from a file (``LLM_RESPONSES_SECRET_KEY_FILE``; by default beside a
SQLite database, ``<database>.key``, or ``llm-responses.key`` in the working directory for PostgreSQL),
created with mode 0600 on first run. A key an older version kept in the database is moved to the file
once and blanked in the database.

The database keeps only a fingerprint of the key (an HMAC of a fixed text), so a process started with a
different key — another machine without the file, a typo in the environment — refuses to start instead of
answering 40100 to every caller.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

LEGACY_META_KEY = "credential_hmac_key"
FINGERPRINT_META_KEY = "credential_key_fingerprint"


class KeyMismatch(RuntimeError):
    """The configured key is not the one this database's credentials were made with."""


def default_key_path(database_url: str) -> Path:
    if database_url.startswith("sqlite:///"):
        return Path(database_url[len("sqlite:///") :] + ".key")
    return Path("llm-responses.key")


def read_or_create(path: Path, initial: str | None = None) -> str:
    """The key in ``path``; a new one (``initial`` or random) written with mode 0600 when there is none.
    Processes starting together agree: the file is created exclusively, and a loser reads the winner's."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = initial or secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def _read(path: Path) -> str:
    key = path.read_text("utf-8").strip()
    if not key:
        raise KeyMismatch(f"the credential key file {path} is empty")
    return key


def fingerprint(key: str) -> str:
    return hmac.new(
        key.encode("utf-8"), b"llm-responses credential key fingerprint", hashlib.sha256
    ).hexdigest()[:32]
