"""What the batch fakes share: an in-memory file store, a batch record, a clock the test moves, and per-line
outcome injection.

A batch moves only when it is looked at, never on a timer, so tests need no sleeping:

* ``poll`` (each ``GET`` of one batch) moves it on. With ``polls_to_finish = N`` the batch ends on the N-th
  poll (1: on the first; ``None``: never by itself); ``finalizing_polls`` polls of ``finalizing`` may come
  first and a cancel takes ``cancel_polls`` polls.
* ``clock.advance(seconds)``: a batch whose ``expires_at`` has passed expires the next time anyone looks at
  it (its processed lines keep their results, the rest expire).
* ``finish(id)``, ``expire(id)``, ``cancel(id)``, ``fail(id, errors)``, ``process(id, n)``: the same moves by
  hand; ``process`` answers the next ``n`` lines now, so an expiry or a cancel leaves partial results.
* ``refuse_next_create(status, body)``: the next create answers that error (a rate or queue limit).
* ``script_line(custom_id, outcome)`` / ``outcome_for``: one line's fate (``succeed(body)``,
  ``error(status, body)``, ``expired()``, ``cancelled()``); other lines go to the vendor fake's own handler.
  A scripted expired (cancelled) line makes a batch that finishes end as expired (cancelled), as only an
  expiry (a cancel) produces such lines on the real APIs.

Each line is rendered in the vendor's shape when it is answered and kept only as bytes, and file contents
are streamed in chunks, so a 50,000-line batch does not hold 50,000 response dicts.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.responses import StreamingResponse

HOUR = 3600
DAY = 24 * HOUR
ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits

Kind = Literal["succeeded", "errored", "expired", "cancelled"]
End = Literal["completed", "failed", "expired", "cancelled"]


def token(length: int, alphabet: str = ALNUM) -> str:
    return "".join(random.choices(alphabet, k=length))


def rfc3339(t: float, digits: int = 6) -> str:
    """``2024-08-20T18:37:24.100435Z`` (Anthropic, 6 digits) or nanoseconds (Google, 9 digits)."""
    whole = int(t)
    frac = f"{int((t - whole) * 10**digits):0{digits}d}" if digits else ""
    stamp = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac}Z" if digits else f"{stamp}Z"


class FakeClock:
    """The fakes' time: starts at the wall clock (whole seconds) and moves only when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self._t = float(int(time.time()) if start is None else start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> float:
        self._t += seconds
        return self._t

    def set(self, t: float) -> None:
        self._t = float(t)


# -- per-line outcomes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineOutcome:
    kind: Literal["succeed", "error", "expired", "cancelled"]
    status: int = 200
    body: Any = None


def succeed(body: Any = None) -> LineOutcome:
    """The line succeeds with ``body`` (``None``: the vendor fake's own answer for the line)."""
    return LineOutcome("succeed", 200, body)


def error(status: int = 500, body: Any = None) -> LineOutcome:
    """The line fails with an HTTP-style ``status`` and a vendor error ``body`` (``None``: the vendor's
    usual error for that status)."""
    return LineOutcome("error", status, body)


def expired() -> LineOutcome:
    return LineOutcome("expired", 0)


def cancelled() -> LineOutcome:
    return LineOutcome("cancelled", 0)


@dataclass
class LineResult:
    kind: Kind
    status: int
    data: bytes  # the rendered line in the vendor's shape, newline-terminated where the vendor writes JSONL
    usage: dict[str, Any] | None = None


@dataclass
class Line:
    index: int  # 0-based position in the input
    custom_id: str
    body: Any
    result: LineResult | None = None


# -- files -------------------------------------------------------------------------------------------------


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    created_at: float
    chunks: list[bytes]
    expires_at: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.chunks)

    def iter_bytes(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        buf: list[bytes] = []
        n = 0
        for chunk in self.chunks:
            buf.append(chunk)
            n += len(chunk)
            if n >= chunk_size:
                yield b"".join(buf)
                buf, n = [], 0
        if buf:
            yield b"".join(buf)

    def content(self) -> bytes:
        return b"".join(self.chunks)


class FileStore:
    """Files by id; a file past its ``expires_at`` is gone, as on the real APIs."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._files: dict[str, StoredFile] = {}

    def add(self, file: StoredFile) -> StoredFile:
        self._files[file.id] = file
        return file

    def get(self, file_id: str) -> StoredFile | None:
        file = self._files.get(file_id)
        if file is not None and file.expires_at is not None and self.clock.now() >= file.expires_at:
            del self._files[file_id]
            return None
        return file

    def delete(self, file_id: str) -> bool:
        return self._files.pop(file_id, None) is not None

    def all(self) -> list[StoredFile]:
        return [f for f in list(self._files.values()) if self.get(f.id) is not None]

    def clear(self) -> None:
        self._files.clear()


def stream_file(
    file: StoredFile, media_type: str, headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(file.iter_bytes(), media_type=media_type, headers=headers)


# -- batches -----------------------------------------------------------------------------------------------


@dataclass
class Batch:
    id: str
    created_at: float
    expires_at: float
    lines: list[Line]
    seq: int = 0  # creation order, for batches created in the same second
    phase: Literal["validating", "running", "finalizing", "cancelling", "ended"] = "validating"
    end: End | None = None
    polls: int = 0
    polls_to_finish: int | None = 1
    finalizing_polls: int = 0
    cancel_polls: int = 1
    cancel_completes: int = 0
    processed: int = 0  # lines answered so far, in input order
    in_progress_at: float | None = None
    finalizing_at: float | None = None
    cancelling_at: float | None = None
    ended_at: float | None = None
    errors: list[Any] = field(default_factory=list)  # batch-level errors, for ``failed``
    validator: Callable[[Batch], list[Any]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the vendor's request fields
    outputs: dict[str, Any] = field(default_factory=dict)  # what the vendor made when it ended
    _left: int = 0  # polls left in finalizing/cancelling

    @property
    def terminal(self) -> bool:
        return self.phase == "ended"

    def counts(self) -> dict[str, int]:
        c = {"succeeded": 0, "errored": 0, "expired": 0, "cancelled": 0, "processing": 0}
        for line in self.lines:
            c[line.result.kind if line.result else "processing"] += 1
        return c


class BatchEngine:
    """The batch records of one vendor fake and the moves tests make on them.

    The vendor supplies ``handler(batch, line) -> (status, body)`` (its own answer for one line),
    ``render(batch, line, kind, status, body) -> bytes`` (the line in its result shape), ``default_error(status)``
    (its error body for a scripted error without one), optionally ``usage(body)`` (tokens to add up) and
    ``on_end(batch)`` (build its output files when a batch ends)."""

    def __init__(
        self,
        *,
        handler: Callable[[Batch, Line], tuple[int, Any]],
        render: Callable[[Batch, Line, Kind, int, Any], bytes],
        default_error: Callable[[int], Any],
        usage: Callable[[Any], dict[str, Any] | None] | None = None,
        on_end: Callable[[Batch], None] | None = None,
        shuffle: bool = True,
        clock: FakeClock | None = None,
    ) -> None:
        self.clock = clock or FakeClock()
        self.files = FileStore(self.clock)
        self.handler = handler
        self.render = render
        self.default_error = default_error
        self.usage = usage
        self.on_end = on_end
        self.shuffle = shuffle  # results out of input order, as OpenAI and Anthropic warn they may be
        self.lock = threading.RLock()
        self.batches: dict[str, Batch] = {}
        self.script: dict[str, LineOutcome] = {}
        self.outcome_for: Callable[[Line], LineOutcome | None] | None = None
        self.create_refusals: deque[tuple[int, Any]] = deque()
        self._seq = 0
        self._defaults()

    def _defaults(self) -> None:
        self.polls_to_finish: int | None = 1
        self.finalizing_polls = 0
        self.cancel_polls = 1
        self.cancel_completes = 0

    def reset(self) -> None:
        with self.lock:
            self.batches.clear()
            self.files.clear()
            self.script.clear()
            self.outcome_for = None
            self.create_refusals.clear()
            self.clock.set(int(time.time()))
            self._defaults()

    # -- what the vendor routes call ---------------------------------------------------------------------

    def create(
        self,
        batch_id: str,
        lines: list[Line],
        *,
        expires_in: float,
        phase: Literal["validating", "running"] = "validating",
        validator: Callable[[Batch], list[Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Batch:
        with self.lock:
            now = self.clock.now()
            self._seq += 1
            batch = Batch(
                id=batch_id,
                seq=self._seq,
                created_at=now,
                expires_at=now + expires_in,
                lines=lines,
                phase=phase,
                polls_to_finish=self.polls_to_finish,
                finalizing_polls=self.finalizing_polls,
                cancel_polls=self.cancel_polls,
                cancel_completes=self.cancel_completes,
                validator=validator,
                meta=meta or {},
            )
            if phase == "running":
                batch.in_progress_at = now
            self.batches[batch_id] = batch
            return batch

    def find(self, batch_id: str) -> Batch | None:
        """The batch as it is now (an expiry due on the clock applied), without moving it on."""
        with self.lock:
            batch = self.batches.get(batch_id)
            if batch is not None:
                self.observe(batch)
            return batch

    def observe(self, batch: Batch) -> None:
        if not batch.terminal and self.clock.now() >= batch.expires_at:
            self._end(batch, "expired")

    def all(self) -> list[Batch]:
        """Every batch, newest first."""
        with self.lock:
            batches = sorted(self.batches.values(), key=lambda b: (b.created_at, b.seq), reverse=True)
            for batch in batches:
                self.observe(batch)
            return batches

    def poll(self, batch_id: str) -> Batch | None:
        """One look at the batch by the client: it moves on by one step."""
        with self.lock:
            batch = self.find(batch_id)
            if batch is None or batch.terminal:
                return batch
            batch.polls += 1
            if batch.phase == "validating":
                errors = batch.validator(batch) if batch.validator else []
                if errors:
                    batch.errors = errors
                    self._end(batch, "failed")
                    return batch
                batch.phase = "running"
                batch.in_progress_at = self.clock.now()
            if batch.phase == "cancelling":
                batch._left -= 1
                if batch._left <= 0:
                    self._end(batch, "cancelled")
            elif batch.phase == "finalizing":
                batch._left -= 1
                if batch._left <= 0:
                    self._end(batch, "completed")
            elif batch.polls_to_finish is not None and batch.polls >= batch.polls_to_finish:
                self._complete_or_finalize(batch)
            return batch

    def request_cancel(self, batch: Batch) -> None:
        """The client asked to cancel (the vendor route has refused the cases its API refuses)."""
        with self.lock:
            if batch.phase == "validating":  # a cancel while validating still reports each line
                self.poll_validation(batch)
            if batch.terminal or batch.phase == "cancelling":
                return
            batch.phase = "cancelling"
            batch.cancelling_at = self.clock.now()
            batch._left = batch.cancel_polls
            if batch._left <= 0:
                self._end(batch, "cancelled")

    # -- test hooks --------------------------------------------------------------------------------------

    def get(self, batch_id: str) -> Batch:
        batch = self.find(batch_id)
        if batch is None:
            raise KeyError(batch_id)
        return batch

    def latest(self) -> Batch:
        with self.lock:
            return max(self.batches.values(), key=lambda b: (b.created_at, b.seq))

    def script_line(self, custom_id: str, outcome: LineOutcome) -> None:
        self.script[custom_id] = outcome

    def refuse_next_create(self, status: int = 429, body: Any = None) -> None:
        """The next batch create is refused with ``status`` and ``body`` (``None``: the vendor's usual error
        body for that status), as when a rate limit or a queue limit is hit."""
        self.create_refusals.append((status, body))

    def pop_create_refusal(self) -> tuple[int, Any] | None:
        return self.create_refusals.popleft() if self.create_refusals else None

    def process(self, batch_id: str, n: int | None = None) -> Batch:
        """Answer the next ``n`` lines (all when ``None``) now; they keep their results whatever follows."""
        with self.lock:
            batch = self.get(batch_id)
            if batch.phase == "validating":
                self.poll_validation(batch)
            todo = len(batch.lines) - batch.processed if n is None else n
            self._process(batch, todo)
            return batch

    def poll_validation(self, batch: Batch) -> None:
        errors = batch.validator(batch) if batch.validator else []
        if errors:
            batch.errors = errors
            self._end(batch, "failed")
        else:
            batch.phase = "running"
            batch.in_progress_at = self.clock.now()

    def finish(self, batch_id: str) -> Batch:
        """End the batch now as the real API would once every line is done (through ``finalizing``
        when ``finalizing_polls`` says so)."""
        with self.lock:
            batch = self.get(batch_id)
            if batch.terminal:
                return batch
            if batch.phase == "validating":
                self.poll_validation(batch)
                if batch.terminal:
                    return batch
            if batch.phase == "cancelling":
                self._end(batch, "cancelled")
            else:
                self._end(batch, "completed")
            return batch

    def expire(self, batch_id: str) -> Batch:
        """Move the clock to the batch's ``expires_at``: it expires (processed lines keep their results)."""
        with self.lock:
            batch = self.get(batch_id)
            if not batch.terminal:
                self.clock.set(max(self.clock.now(), batch.expires_at))
                self._end(batch, "expired")
            return batch

    def cancel(self, batch_id: str) -> Batch:
        """As if the client had asked to cancel."""
        with self.lock:
            batch = self.get(batch_id)
            self.request_cancel(batch)
            return batch

    def fail(self, batch_id: str, errors: list[Any] | None = None) -> Batch:
        with self.lock:
            batch = self.get(batch_id)
            if not batch.terminal:
                batch.errors = list(errors or [])
                self._end(batch, "failed")
            return batch

    def usage_total(self, batch: Batch) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for line in batch.lines:
            if line.result and line.result.usage:
                _add(total, line.result.usage)
        return total

    def ordered(self, batch: Batch, lines: list[Line]) -> list[Line]:
        if not self.shuffle:
            return lines
        out = list(lines)
        random.Random(batch.id).shuffle(out)
        return out

    # -- internals ---------------------------------------------------------------------------------------

    def _complete_or_finalize(self, batch: Batch) -> None:
        if batch.finalizing_polls > 0:
            self._process(batch, len(batch.lines))
            batch.phase = "finalizing"
            batch.finalizing_at = self.clock.now()
            batch._left = batch.finalizing_polls
        else:
            self._end(batch, "completed")

    def _process(self, batch: Batch, n: int) -> None:
        for line in batch.lines[batch.processed : batch.processed + max(0, n)]:
            self._answer(batch, line)
            batch.processed += 1

    def _answer(self, batch: Batch, line: Line, forced: Kind | None = None) -> None:
        kind: Kind
        status, body = 0, None
        if forced is not None:
            kind = forced
        else:
            outcome = self.script.get(line.custom_id)
            if outcome is None and self.outcome_for is not None:
                outcome = self.outcome_for(line)
            if outcome is not None and outcome.kind == "expired":
                kind = "expired"
            elif outcome is not None and outcome.kind == "cancelled":
                kind = "cancelled"
            elif outcome is not None and outcome.kind == "error":
                kind, status = "errored", outcome.status
                body = outcome.body if outcome.body is not None else self.default_error(outcome.status)
            else:
                if outcome is not None and outcome.body is not None:
                    status, body = 200, outcome.body
                else:
                    status, body = self.handler(batch, line)
                kind = "succeeded" if 200 <= status < 300 else "errored"
        data = self.render(batch, line, kind, status, body)
        usage = self.usage(body) if kind == "succeeded" and self.usage is not None else None
        line.result = LineResult(kind, status, data, usage)

    def _end(self, batch: Batch, reason: End) -> None:
        now = self.clock.now()
        if reason == "completed":
            self._process(batch, len(batch.lines))
            kinds = {line.result.kind for line in batch.lines if line.result}
            if "expired" in kinds:
                reason = "expired"
            elif "cancelled" in kinds:
                reason = "cancelled"
                batch.cancelling_at = batch.cancelling_at or now
        elif reason == "cancelled":
            self._process(batch, batch.cancel_completes)
            for line in batch.lines[batch.processed :]:
                self._answer(batch, line, "cancelled")
            batch.processed = len(batch.lines)
        elif reason == "expired":
            for line in batch.lines[batch.processed :]:
                self._answer(batch, line, "expired")
            batch.processed = len(batch.lines)
        batch.phase = "ended"
        batch.end = reason
        batch.ended_at = min(now, batch.expires_at) if reason == "expired" else now
        if self.on_end is not None:
            self.on_end(batch)


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
