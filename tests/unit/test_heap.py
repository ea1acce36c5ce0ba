"""freeze_startup_heap: start-up objects leave the collector's generations, later garbage is still collected."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, weakref
from llm_responses.heap import YOUNG_THRESHOLD, freeze_startup_heap

class Node:
    pass

startup = [Node()]  # stands for what start-up builds
freeze_startup_heap()
assert not any(o is startup for o in gc.get_objects())  # frozen: no collection walks it again
assert gc.get_threshold()[0] == YOUNG_THRESHOLD
a, b = Node(), Node()
a.peer, b.peer = b, a  # a cycle made after start-up: only the collector can free it
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None
print("ok")
"""


def test_startup_heap_is_frozen_and_later_cycles_are_still_collected() -> None:
    # its own interpreter: freezing the test process's heap would keep every later test's garbage cycles
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
