"""A shared pause of Python's cyclic garbage collector, for work that builds large trees.

Decoding a 1,000-candidate batch (1.9 MB of JSON, ~150,000 dicts and lists) and building a
consumer's view of a 100,000-candidate pool (~280,000 decoded documents, ~70,000 cards and
their columns) allocate so many containers that the collector starts a collection every 700
of them, and every few of those a full one over the whole, growing heap. Those passes took 35
of the 45 ms a batch's decode cost, and 5 of the 14 s a view build cost (issue 8,
``bench/ingest.py``; ``bench/README.md``, *Scale note*). Decoders and builders make trees,
never cycles, so those collections cannot free anything: pausing them loses nothing. The pause
is counted, so overlapping holders in the thread pool resume it only when the last one ends,
and only if it was on before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


class _CollectorPause:
    """The collector off while any thread holds the pause."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._resume:
                    gc.enable()


#: Use as ``with collector_paused(): ...``.
collector_paused = _CollectorPause()
