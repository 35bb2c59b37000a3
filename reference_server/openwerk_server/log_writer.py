"""Group commit for the processing log of the async L2 reads.

Every search and fetch must write its processing-log records before it answers
(OW-LOG-001), and — on the fast path of ``routes.deps.serve_cards`` — confirm in the same
transaction that the pool has not changed since the view it served from was built. Done per
request, that is one worker-thread hop and one write transaction each; under 50 concurrent
clients on SQLite those transactions queue for the one writer anyway, and the hops hand the
interpreter lock around 40 threads (``bench/README.md``, *Throughput floor*). Here one thread
takes every request waiting at that moment and writes them in one transaction: still
committed before any of those requests answers, at a fraction of the cost.

If the transaction fails, every request in it gets the error (a 503): a card that could
not be logged is not served.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from openwerk_server.storage import Store
from openwerk_server.storage.access_log import AccessRecord

__all__ = ["LogWriter"]

#: Requests written in one transaction at most (bounds one transaction's size and latency).
MAX_GROUP = 256


@dataclass(frozen=True)
class _Job:
    records: Sequence[AccessRecord]
    generation: int | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


class LogWriter:
    """One writer thread per node process, started on first use, stopped by ``close``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def write(self, records: Sequence[AccessRecord], *, generation: int | None) -> bool:
        """``Store.log_access(records, generation=generation)``, grouped with other requests."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._ensure_started()
        self._jobs.put(_Job(records, generation, loop, future))
        return await future

    def close(self) -> None:
        """Stop the thread once the jobs already queued are written."""
        thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="openwerk-log-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                group.append(job)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[_Job]) -> None:
        try:
            outcomes: Sequence[bool | Exception] = self._store.log_access_groups(
                [(job.records, job.generation) for job in group]
            )
        except Exception as exc:  # every request of the group answers with the error
            outcomes = [exc] * len(group)
        # One wake-up of each event loop for the whole group, not one per request: each
        # ``call_soon_threadsafe`` writes to the loop's self-pipe, which under load cost as
        # much as the transaction.
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool | Exception]]
        ] = {}
        for job, outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append((job.future, outcome))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[bool], bool | Exception]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request may have been cancelled (client gone)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
