"""Files only the server's own user may read: the SQLite database (it holds webhook signing secrets), the
credential key, the demo account's password.

``os.open``'s mode applies only when it creates a file, so a file that already exists keeps whatever mode
it had (an older version's 0644, a copy made with ``cp``): ``write_private`` sets 0600 on what it writes
either way.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist; warn when an existing one is readable by
    others (it is the operator's file: we say so rather than change it)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s is readable by other users (mode %o): chmod 600 it, it holds secrets", path, mode)


def write_private(path: Path, text: str) -> None:
    """Replace ``path``'s content with ``text``, the file mode 0600 whether it existed or not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), PRIVATE)
        f.write(text)
