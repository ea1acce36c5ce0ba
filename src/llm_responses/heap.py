"""After start-up, take the import-time heap out of the garbage collector's way.

A long-running process imports tens of thousands of long-lived objects (the SDK's pydantic models, the
price tables, SQLAlchemy's migration machinery), then allocates thousands of short-lived ones per task
(each SDK call builds request, header and response objects). With CPython's default thresholds the young
generation is collected several times per task, and every full collection walks the whole import-time
heap again. With that heap frozen and the young generation collected every 10,000 allocations instead of
700, a worker's CPU per drained task fell from 1.33-1.47 to 0.97-1.24 ms in interleaved runs, while its
instruction count fell only ~3.5% (callgrind): most of the time saved was probably memory stalls, which an
instruction count does not see (docs/benchmarks.md, scale-out).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
OLDER_THRESHOLDS = (20, 20)


def freeze_startup_heap() -> None:
    """Call once, when the process is set up and about to serve: later garbage is still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
