"""What the fixture dataset says each consumer must be shown, and which card is which key.

``expected.json`` states, per consumer, the consented keys, the k-anonymity outcome (the
quasi-identifiers of every published card), support-needs and eligibility visibility and the
statistics cells — all without pseudonyms. A card is mapped back to its fixture key by the
dataset's fingerprint (:func:`openwerk_conformance.privacy_reads.fingerprint`).

The exact figures hold only while the node holds *only* the fixture candidates (a vendor's
own data, or another suite's leftovers, change classes and counts); :func:`fixture_only`
tells, and the checks then fall back to the rules that hold for any pool.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openwerk_conformance.context import RunContext
from openwerk_conformance.privacy_reads import READ_SCOPE, WRITE_SCOPE, fingerprint, walk_as
from openwerk_spec.paths import spec_v1_dir

__all__ = ["ConsumerView", "expected", "fixture_only", "node_k", "view_of"]


def expected(ctx: RunContext) -> dict[str, Any]:
    """``expected.json`` of the run's dataset (``{}`` when it has none)."""
    return _read_expected(Path(ctx.fixtures_dir or spec_v1_dir() / "fixtures") / "expected.json")


@functools.cache
def _read_expected(path: Path) -> dict[str, Any]:
    # Every privacy check asks, per consumer; the file (~100 kB) is read and parsed once.
    # Callers only read the result: it is shared.
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def at_load(ctx: RunContext, consumer: str) -> dict[str, Any]:
    """The ``atLoad`` expectations of one consumer."""
    consumers = expected(ctx).get("consumers")
    entry = consumers.get(consumer) if isinstance(consumers, dict) else None
    view = entry.get("atLoad") if isinstance(entry, dict) else None
    return view if isinstance(view, dict) else {}


def node_k(ctx: RunContext) -> int | None:
    """The ``k`` the node states on its landing page, if it is an integer."""
    landing = ctx.landing
    value = landing.get("k") if isinstance(landing, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fixture_only(ctx: RunContext) -> bool:
    """Whether the node's candidate records are exactly the fixture candidates."""
    if not ctx.candidates:
        return False
    listing = walk_as(ctx, "/publication/candidates", "publisher", WRITE_SCOPE, {"limit": 100})
    if not listing.complete:
        return False
    served = {str(r.get("id")) for r in listing.items}
    return served == {c.node_id for c in ctx.candidates.values()}


@dataclass
class ConsumerView:
    """Every card one consumer is served by searchCandidates, mapped to fixture keys."""

    consumer: str
    cards: list[dict[str, Any]]
    #: Fixture key → its card (only keys whose fingerprint matched).
    by_key: dict[str, dict[str, Any]]
    problems: list[str]

    def pseudonym(self, key: str) -> str | None:
        """The consumer's pseudonym for a fixture key, if the key has a card."""
        card = self.by_key.get(key)
        value = card.get("id") if card else None
        return value if isinstance(value, str) else None


def view_of(
    ctx: RunContext,
    consumer: str,
    params: Mapping[str, str | int] | None = None,
    *,
    token: str | None = None,
) -> ConsumerView:
    """Walk searchCandidates as ``consumer`` (with a given ``token`` when set) and map cards."""
    prints = {fingerprint(c.document): c.key for c in ctx.candidates.values()}
    if token is None:
        listing = walk_as(
            ctx,
            "/candidates",
            consumer,
            READ_SCOPE,
            {"limit": 100, **(params or {})},
            page_schema="CandidatePage",
        )
        cards, problems = listing.items, listing.problems
    else:
        cards, problems = _walk_with_token(ctx, token, {"limit": 100, **(params or {})})
    by_key: dict[str, dict[str, Any]] = {}
    for card in cards:
        key = prints.get(fingerprint(card))
        if key is not None:
            if key in by_key:
                problems.append(f"{consumer}: two cards for fixture candidate {key}")
            by_key[key] = card
    return ConsumerView(consumer, cards, by_key, problems)


def _walk_with_token(
    ctx: RunContext, token: str, params: Mapping[str, str | int]
) -> tuple[list[dict[str, Any]], list[str]]:
    cards: list[dict[str, Any]] = []
    exchange = ctx.fetch("GET", "/candidates", token=token, params=dict(params))
    for _ in range(100):
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, dict):
            return cards, [f"{exchange.describe()}: expected a page of cards"]
        items = body.get("items")
        cards += [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        nxt = body.get("links", {}).get("next") if isinstance(body.get("links"), dict) else None
        href = nxt.get("href") if isinstance(nxt, dict) else None
        if not isinstance(href, str):
            return cards, []
        exchange = ctx.fetch("GET", ctx.resolve(href), token=token)
    return cards, ["/candidates: too many pages"]
