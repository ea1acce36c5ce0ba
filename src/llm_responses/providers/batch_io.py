"""What every vendor's batch client (``core.BatchClient``) shares: an upload body written to a temporary file
rather than joined in memory, a streamed answer split into JSON lines, and how far back ``find`` looks.

A batch is up to 50,000-100,000 lines and 200-256 MB: joining its lines into one ``bytes`` would hold the
batch twice, and reading its results whole would hold every answer at once. So uploads go through a file
on disk (the SDKs send a file object in chunks) and results are read a chunk at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import IO

# Seconds our clock and the vendor's may disagree by, when ``find`` looks for the batches created since a time
SKEW = 300.0


def check_size(lines: Sequence[bytes], max_requests: int, max_bytes: int) -> None:
    """A batch within the client's limits (the caller gathers it so): else a ``ValueError``, a bug of ours."""
    size = sum(len(line) for line in lines)
    if not 1 <= len(lines) <= max_requests or size > max_bytes:
        raise ValueError(
            f"a batch of {len(lines)} lines and {size} bytes is past 1-{max_requests} lines or {max_bytes} bytes"
        )


def spool(lines: Sequence[bytes], *, head: bytes = b"", sep: bytes = b"\n", tail: bytes = b"\n") -> IO[bytes]:
    """``head``, the lines joined by ``sep``, then ``tail``, in a temporary file (deleted when closed),
    rewound to its start. Blocking: run it in a thread."""
    file = tempfile.TemporaryFile()
    try:
        file.write(head)
        for i, line in enumerate(lines):
            if i:
                file.write(sep)
            file.write(line)
        file.write(tail)
        file.flush()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file


async def json_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The non-blank lines of a streamed JSONL body, each without its line break.

    Split on ``\\n`` only: a JSON string may hold U+2028, U+0085 or other characters ``str.splitlines``
    (and so httpx's ``iter_lines``) would break a line at, and UTF-8 never has a ``\\n`` byte inside a
    character. A line longer than a chunk is gathered across chunks.
    """
    buffer = bytearray()
    async for chunk in chunks:
        if not chunk:
            continue
        start = len(buffer)
        buffer += chunk
        end = buffer.find(b"\n", start)
        if end < 0:
            continue
        begin = 0
        while end >= 0:
            line = bytes(buffer[begin:end]).strip()
            if line:
                yield line
            begin = end + 1
            end = buffer.find(b"\n", begin)
        del buffer[:begin]
    line = bytes(buffer).strip()
    if line:
        yield line
