"""Per-consumer published views, cached until the pool or the date changes.

Building a view reads every candidate with its consents and runs the k-anonymity gate —
seconds for 100,000 candidates — while a search or match must answer in milliseconds. So
views are cached per consumer and rebuilt when the pool's *generation* changes. Storage
bumps the generation in the same transaction as every candidate or consent write, and the
cache checks it (one cheap query) on every read: several replicas sharing one database
therefore never serve a withdrawn profile after the withdrawal was acknowledged
(OW-CONSENT-005). The date is part of the key because consents expire at midnight.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from openwerk_server.collector import collector_paused
from openwerk_server.matching.engine import CardColumns
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.views import PoolCandidate, PublishedView, build_view


class CandidateSource(Protocol):
    """What the cache needs from storage."""

    def pool_generation(self) -> int:
        """A number that changes whenever any candidate or consent changes."""
        ...

    def load_pool(self) -> Sequence[PoolCandidate]:
        """Every candidate with its consents (no identifying data)."""
        ...


@dataclass
class CachedView:
    """A built view with its scoring columns (built on first use)."""

    view: PublishedView
    generation: int
    day: date
    _columns: CardColumns | None = None

    @property
    def columns(self) -> CardColumns:
        """Vectorised columns for matching, built once per view."""
        if self._columns is None:
            with collector_paused():
                self._columns = CardColumns(self.view.cards)
        return self._columns


class PoolCache:
    """Views per consumer; the pool is loaded once per generation and shared by all consumers."""

    def __init__(
        self,
        source: CandidateSource,
        *,
        node_id: str,
        secret: bytes,
        k: int,
        clock: Callable[[], datetime],
        max_consumers: int = 64,
    ) -> None:
        self._source = source
        self._node_id = node_id
        self._secret = secret
        self._k = k
        self._clock = clock
        self._max = max_consumers
        self._lock = threading.Lock()
        self._views: OrderedDict[Consumer, CachedView] = OrderedDict()
        self._pool: tuple[int, Sequence[PoolCandidate]] | None = None

    def view(self, consumer: Consumer) -> CachedView:
        """The consumer's current view (rebuilt if the pool or the day changed)."""
        now = self._clock()
        generation = self._source.pool_generation()
        with self._lock:
            cached = self._views.get(consumer)
            if cached is not None and cached.generation == generation and cached.day == now.date():
                self._views.move_to_end(consumer)
                return cached
            pool = self._load(generation)
            with collector_paused():  # seconds of allocation at 100,000 (``collector``)
                view = build_view(
                    pool, consumer, node_id=self._node_id, secret=self._secret, k=self._k, now=now
                )
            cached = CachedView(view=view, generation=generation, day=now.date())
            self._views[consumer] = cached
            self._views.move_to_end(consumer)
            while len(self._views) > self._max:
                self._views.popitem(last=False)
            return cached

    def peek(self, consumer: Consumer) -> CachedView | None:
        """The consumer's view as last built today, without reading the generation or
        waiting for a build; None when there is none.

        The L2 routes' fast path: they serve from it only if the generation is unchanged
        when they write the processing log, in the same transaction
        (``Store.log_access(..., generation=...)``); otherwise they fall back to ``view``.
        """
        cached = self._views.get(consumer)
        if cached is None or cached.day != self._clock().date():
            return None
        if self._lock.acquire(blocking=False):  # keep the LRU order when it costs nothing
            try:
                if consumer in self._views:
                    self._views.move_to_end(consumer)
            finally:
                self._lock.release()
        return cached

    def candidates(self) -> Sequence[PoolCandidate]:
        """The current pool itself (for L1 statistics, which count but never publish cards)."""
        generation = self._source.pool_generation()
        with self._lock:
            return self._load(generation)

    @property
    def k(self) -> int:
        """The node's k."""
        return self._k

    def now(self) -> datetime:
        """The cache's clock (the moment views are evaluated at)."""
        return self._clock()

    def _load(self, generation: int) -> Sequence[PoolCandidate]:
        if self._pool is None or self._pool[0] != generation:
            with collector_paused():  # decodes every consent and profile (``collector``)
                self._pool = (generation, self._source.load_pool())
        return self._pool[1]
