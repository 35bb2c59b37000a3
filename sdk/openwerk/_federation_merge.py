"""What ``FederatedClient`` answers, and the pure parts of building it: merge order and cursors.

Nothing here does I/O, so the merge and the cursor arithmetic are tested on their own.

**Match cards** from all nodes are merged by score descending, then node id ascending, then
pseudonym ascending (OW-FED-006, ``openwerk_spec.score.merge_key``) and cut to the limit.
That is exact: each node answers its own best ``limit`` cards.

**Lists** (candidates, vacancies, task offers, instruments) are merged like a k-way merge of
sorted streams: only the heads of the nodes' answers are compared, so every node's own order
is kept, and the key (the order the operation documents, then node id) decides between nodes.
Each node is asked for at least ``limit`` items (following its ``next`` links if its pages
are smaller), so the best ``limit`` of the merge are known from what arrived.

**Federated cursors** are opaque to callers: base64url JSON that says, per node, which page
to read next (the node's own page URL — its cursors are opaque to us, OW-PAGE-002), how far
into that page this walk has consumed, and the id of the last item consumed. Following the
cursor continues every node exactly where it stopped, without duplicates or gaps
(OW-FED-007). A node that was not ``ok`` on a page is left out of the rest of the walk (its
items would arrive out of order) and reported on later pages with its original status, so
``partial`` stays ``true`` for the whole walk — as a gateway does.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import total_ordering
from typing import Any, Generic, TypeVar

from pydantic import Field

from openwerk._matching import MatchCard, OpportunityCriteria
from openwerk._models import NodeStatus, OpenWerkModel
from openwerk_spec.score import SCORE_VERSION, merge_key

__all__ = [
    "CURSOR_VERSION",
    "FederatedMatchCard",
    "FederatedMatchResult",
    "FederatedPage",
    "FederatedResult",
    "MatchMerge",
    "NodeBuffer",
    "Position",
    "Segment",
    "WalkState",
    "candidate_key",
    "decode_cursor",
    "encode_cursor",
    "finish_walk",
    "item_id",
    "merge_match_cards",
    "merge_streams",
    "newest_first_key",
    "resume_index",
]

T = TypeVar("T")

#: Version of the federated cursor's JSON; a cursor of another version is refused.
CURSOR_VERSION = 1
_THOUSANDTH = Decimal("0.001")


# --------------------------------------------------------------------------- results


class FederatedResult(OpenWerkModel, Generic[T]):
    """What every federated call answers: merged items plus one status per node asked.

    ``partial`` is true exactly when some node's ``status`` is not ``ok`` (OW-FED-005).
    """

    items: list[T] = Field(default_factory=list)
    partial: bool = False
    nodes: list[NodeStatus] = Field(default_factory=list)

    def node_status(self, node_id: str) -> NodeStatus | None:
        """The status of ``node_id`` in this answer, or ``None`` if it was not asked."""
        return next((n for n in self.nodes if n.node == node_id), None)

    @property
    def missing(self) -> list[NodeStatus]:
        """The nodes whose answer is not in ``items`` (status other than ``ok``)."""
        return [n for n in self.nodes if n.status != "ok"]


class FederatedPage(FederatedResult[T], Generic[T]):
    """One page of a federated list; pass ``next_cursor`` back for the next page."""

    next_cursor: str | None = None

    @property
    def has_next(self) -> bool:
        """Whether any node has more items in this walk."""
        return self.next_cursor is not None


class FederatedMatchCard(MatchCard):
    """A match card and the node that served it; its pseudonym is only valid at that node."""

    node: str

    @property
    def pseudonym(self) -> str:
        """The caller's pseudonym for this candidate at ``node``."""
        return self.candidate.id


class FederatedMatchResult(FederatedResult[FederatedMatchCard]):
    """The best ``limit`` cards of all nodes, merged by score, node id, pseudonym.

    ``opportunity`` is the criteria the nodes scored against, as the first node (by id) that
    answered reported them; ``None`` when no node answered.
    """

    score_version: str = SCORE_VERSION
    opportunity: OpportunityCriteria | None = None


# --------------------------------------------------------------------------- match merge


def card_score(score: float) -> Decimal:
    """The 3-decimal score that decides the order (the unrounded sum never does)."""
    return Decimal(str(score)).quantize(_THOUSANDTH, rounding=ROUND_HALF_UP)


def merge_match_cards(
    answers: Mapping[str, Sequence[MatchCard]], limit: int
) -> list[FederatedMatchCard]:
    """The best ``limit`` cards of all ``answers`` (node id → its cards) in merge order."""
    merge = MatchMerge(limit)
    for node, cards in answers.items():
        merge.add(node, cards)
    return merge.cards()


_Ranked = tuple[tuple[Decimal, str, str], str, MatchCard]


def _rank(entry: _Ranked) -> tuple[Decimal, str, str]:
    return entry[0]


class MatchMerge:
    """The best ``limit`` match cards of the node answers added so far, in merge order.

    Each node sends ``limit`` cards so the merge is exact, but only ``limit`` of the
    nodes × ``limit`` survive. Folding each answer in as it arrives keeps just those (the
    rest are dropped with their node's page) instead of holding every node's page until the
    last one answered: at 30 nodes that is 20 cards held instead of 600, whose tens of
    thousands of objects would otherwise outlive garbage-collector generations and make
    full collections frequent. Cards are ranked first and wrapped as ``FederatedMatchCard``
    only when asked for, since building a card costs more than ranking it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self._best: list[_Ranked] = []

    def add(self, node: str, cards: Sequence[MatchCard]) -> None:
        """Fold in one node's cards (the order they came in does not matter)."""
        ranked = sorted(
            ((merge_key(card_score(c.score), node, c.candidate.id), node, c) for c in cards),
            key=_rank,
        )
        merged = heapq.merge(self._best, ranked, key=_rank)
        self._best = list(itertools.islice(merged, self.limit))

    def cards(self) -> list[FederatedMatchCard]:
        """The survivors so far, best first, each naming the node that served it."""
        return [_with_node(card, node) for _, node, card in self._best]


def _with_node(card: MatchCard, node: str) -> FederatedMatchCard:
    # Members the node sent beyond the spec are kept; "node" is ours: the member we asked.
    extra = {k: v for k, v in (card.model_extra or {}).items() if k != "node"}
    return FederatedMatchCard(
        candidate=card.candidate,
        score=card.score,
        components=card.components,
        node=node,
        **extra,
    )


# --------------------------------------------------------------------------- list merge


@total_ordering
@dataclass(frozen=True)
class _Desc:
    """Wraps a value so that it sorts descending inside an ascending key."""

    value: Any

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)


_OLDEST = datetime.min.replace(tzinfo=UTC)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return _OLDEST  # no creation time: after everything that has one
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def item_id(item: Any) -> str:
    """The ``id`` of a list item (a pseudonym, a vacancy id ...)."""
    return str(item.id)


def candidate_key(item: Any, node: str) -> tuple[str, str]:
    """Candidate search order: pseudonym (code points), then node id."""
    return (str(item.id), node)


def newest_first_key(item: Any, node: str) -> tuple[_Desc, _Desc, str]:
    """Opportunity and instrument order: ``createdAt`` descending, then ``id``, then node id."""
    return (_Desc(_aware(getattr(item, "created_at", None))), _Desc(str(item.id)), node)


def merge_streams(
    streams: Mapping[str, Sequence[T]],
    key: Callable[[T, str], Any],
    limit: int,
) -> tuple[list[T], dict[str, int]]:
    """The first ``limit`` items of a k-way merge, and how many each stream gave.

    Only the streams' heads are compared, so each stream's own order is kept even where it
    disagrees with ``key`` (a node's tie-break we cannot see).
    """

    def tagged(node: str, items: Sequence[T]) -> Iterator[tuple[Any, str, T]]:
        return ((key(item, node), node, item) for item in items)

    merged = heapq.merge(*(tagged(n, s) for n, s in streams.items()), key=lambda t: t[0])
    items: list[T] = []
    taken = dict.fromkeys(streams, 0)
    for _, node, item in itertools.islice(merged, max(limit, 0)):
        items.append(item)
        taken[node] += 1
    return items, taken


# --------------------------------------------------------------------------- walk state


@dataclass(frozen=True)
class Position:
    """Where a node's part of a walk continues: a page URL, items to skip, the last item."""

    url: str
    skip: int = 0
    last: str | None = None  # id of the last item consumed from ``url``


@dataclass(frozen=True)
class Segment(Generic[T]):
    """One page a node answered in this call: its URL, the skip applied, the items left.

    ``last`` is the id of the item just before ``items`` on the page (when some were skipped).
    """

    url: str
    skip: int
    items: list[T]
    last: str | None = None


@dataclass(frozen=True)
class NodeBuffer(Generic[T]):
    """Everything one node answered in this call, in its order, and its next link."""

    segments: list[Segment[T]]
    next_url: str | None

    @property
    def items(self) -> list[T]:
        """The items of all segments, in order."""
        return [item for segment in self.segments for item in segment.items]

    def position_after(self, consumed: int, item_id: Callable[[T], str]) -> Position | None:
        """Where to continue after ``consumed`` items; ``None`` when the node is done."""
        for segment in self.segments:
            if consumed < len(segment.items):
                last = item_id(segment.items[consumed - 1]) if consumed else segment.last
                return Position(segment.url, segment.skip + consumed, last)
            consumed -= len(segment.items)
        return Position(self.next_url) if self.next_url is not None else None


def resume_index(items: Sequence[T], position: Position, item_id: Callable[[T], str]) -> int:
    """How many items of a re-read page this walk has already consumed.

    The page is read again from the same URL; normally it holds the same items and ``skip``
    is right. If items before the position were withdrawn meanwhile, counting would skip
    unseen items, so the last item consumed is looked up by id first.
    """
    if position.last is None:
        return min(position.skip, len(items))
    for index, item in enumerate(items):
        if item_id(item) == position.last:
            return index + 1
    return min(position.skip, len(items))


@dataclass(frozen=True)
class WalkState:
    """The decoded federated cursor."""

    operation: str
    limit: int
    positions: dict[str, Position] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # node id -> its status


def encode_cursor(state: WalkState) -> str:
    """The opaque federated cursor for ``state`` (base64url of compact JSON, no padding)."""
    body = {
        "v": CURSOR_VERSION,
        "op": state.operation,
        "limit": state.limit,
        "nodes": {
            node: {"url": p.url, "skip": p.skip, **({"last": p.last} if p.last else {})}
            for node, p in sorted(state.positions.items())
        },
        "dropped": dict(sorted(state.dropped.items())),
    }
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, operation: str) -> WalkState:
    """The state in a federated cursor for ``operation``; ``ValueError`` for any other text."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        if body.get("op") != operation:
            raise ValueError(f"it belongs to {body.get('op')!r}, not {operation!r}")
        limit = body["limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("bad limit")
        positions = {str(node): _position(p) for node, p in dict(body["nodes"]).items()}
        dropped = {str(node): str(status) for node, status in dict(body["dropped"]).items()}
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(
            f"not a federated cursor of this client for {operation}: {exc}. Pass the "
            "next_cursor of a FederatedPage unchanged, or start again without a cursor."
        ) from exc
    return WalkState(operation, limit, positions, dropped)


def _position(value: Any) -> Position:
    url, skip, last = value["url"], value.get("skip", 0), value.get("last")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError("a node position without a page URL")
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise ValueError("a node position with a bad skip")
    if last is not None and not isinstance(last, str):
        raise ValueError("a node position with a bad last item")
    return Position(url, skip, last)


# --------------------------------------------------------------------------- one page


def finish_walk(
    state: WalkState,
    answered: Mapping[str, NodeBuffer[T]],
    statuses: Sequence[NodeStatus],
    key: Callable[[T, str], Any],
) -> FederatedPage[T]:
    """The federated page from what the nodes ``answered``, and the cursor to go on.

    ``statuses`` are those of the nodes asked now; nodes of the walk that were not asked
    (they failed on an earlier page, or left the directory) are reported as well.
    """
    items, taken = merge_streams({n: b.items for n, b in answered.items()}, key, state.limit)
    positions: dict[str, Position] = {}
    for node, buffer in answered.items():
        after = buffer.position_after(taken[node], item_id)
        if after is not None:
            positions[node] = after
    asked = {s.node for s in statuses}
    nodes = [*statuses]
    nodes += [
        NodeStatus(
            node=node,
            status=status,
            item_count=0,
            duration_ms=0,
            detail=f"left out of this walk after {status} on an earlier page",
        )
        for node, status in state.dropped.items()
    ]
    nodes += [
        NodeStatus(
            node=node,
            status="error",
            item_count=0,
            duration_ms=0,
            detail="no longer a provider in the directory",
        )
        for node in state.positions
        if node not in asked
    ]
    nodes.sort(key=lambda n: n.node)
    dropped = {n.node: n.status for n in nodes if n.status != "ok"}
    following = WalkState(state.operation, state.limit, positions, dropped)
    return FederatedPage(
        items=items,
        partial=any(n.status != "ok" for n in nodes),
        nodes=nodes,
        next_cursor=encode_cursor(following) if positions else None,
    )
