"""Candidates class (L2): pseudonymous cards, searched and fetched by consumers.

Both operations read the consumer's published view (``privacy.pool.PoolCache``): only
candidates whose consents admit the caller for ``matching``, after the k-anonymity gate,
under the caller's pseudonyms, sorted by pseudonym (OW-CAND-001, OW-KANON-002/004,
OW-PSEUDO-001). Filters see only the card as served (OW-CAND-005). Paging is a keyset on
the pseudonym, so a withdrawal between two pages removes the profile from the later pages
without repeating or skipping others. Every card served is logged (OW-LOG-001).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.errors import InvalidInput, InvalidParam, NotFound
from openwerk_server.pagination import page_links
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.pool import CachedView
from openwerk_server.routes.deps import (
    NEGOTIATION,
    CandidateReader,
    RequestParams,
    SettingsDep,
    get_cursors,
    request_params,
    serve_cards,
)
from openwerk_server.routes.responses import fragment_page_response

__all__ = ["CardFilter", "router", "search_listing"]

router = APIRouter(dependencies=NEGOTIATION)

SearchParams = Annotated[RequestParams, Depends(request_params("searchCandidates"))]
FetchParams = Annotated[RequestParams, Depends(request_params("getCandidate"))]

#: CEFR levels in ascending order (code list ``cefr-levels``).
CEFR_RANK: Mapping[str, int] = {
    level: rank for rank, level in enumerate(("pre-A1", "A1", "A2", "B1", "B2", "C1", "C2"))
}

#: The one 404 for every pseudonym the caller cannot see (OW-CAND-002, OW-PSEUDO-004).
NOT_PUBLISHED = "No candidate profile under this pseudonym is published to you."


def search_listing(consumer: Consumer) -> str:
    """The cursor namespace of one consumer's search: its cursors page only its own view
    (OW-PSEUDO-005)."""
    return f"candidates:{consumer.client_id}"


@dataclass(frozen=True)
class CardFilter:
    """The filters of ``searchCandidates``, evaluated on a card as served (AND)."""

    occupation: str | None = None
    skill: str | None = None
    gemeente: str | None = None
    arbeidsmarktregio: str | None = None
    hours_min: int | None = None
    hours_max: int | None = None
    available_by: str | None = None
    """``YYYY-MM`` of the ``availableBy`` date."""
    wanted_kind: str | None = None
    language: str | None = None
    language_level: str | None = None
    support_offered: frozenset[str] | None = None

    @classmethod
    def from_params(cls, params: RequestParams) -> CardFilter:
        """The filter of a validated request; 400 for ``languageLevel`` without ``language``."""
        language, level = params.text("language"), params.text("languageLevel")
        if level is not None and language is None:
            raise InvalidInput(
                [InvalidParam("languageLevel", "is only meaningful with language", "dependency")]
            )
        available = params.text("availableBy")
        offered = params.values.get("supportOffered")
        return cls(
            occupation=params.text("occupation"),
            skill=params.text("skill"),
            gemeente=params.text("gemeente"),
            arbeidsmarktregio=params.text("arbeidsmarktregio"),
            hours_min=params.number("hoursMin"),
            hours_max=params.number("hoursMax"),
            available_by=date.fromisoformat(available).strftime("%Y-%m") if available else None,
            wanted_kind=params.text("wantedKind"),
            language=language,
            language_level=level,
            support_offered=frozenset(offered) if isinstance(offered, list) else None,
        )

    def admits(self, card: Mapping[str, Any]) -> bool:
        """Whether the card passes every filter, judged only by what it shows."""
        location = card["location"]
        if self.gemeente is not None and location.get("gemeente") != self.gemeente:
            return False
        if (
            self.arbeidsmarktregio is not None
            and location["arbeidsmarktregio"] != self.arbeidsmarktregio
        ):
            return False
        hours = card["hoursPerWeek"]
        if self.hours_min is not None and hours["max"] < self.hours_min:
            return False
        if self.hours_max is not None and hours["min"] > self.hours_max:
            return False
        if self.available_by is not None and card["availableFrom"] > self.available_by:
            return False
        if self.wanted_kind is not None and self.wanted_kind not in card["wantedKinds"]:
            return False
        if self.support_offered is not None and not set(card.get("supportNeeds", ())) <= (
            self.support_offered
        ):
            return False
        if self.occupation is not None and not self._occupation(card):
            return False
        if self.skill is not None and not self._skill(card):
            return False
        return self.language is None or self._language(card)

    def _occupation(self, card: Mapping[str, Any]) -> bool:
        wanted = self.occupation or ""
        if wanted.isdigit():  # ISCO-08: prefix of the unit group
            return any(o["isco08"].startswith(wanted) for o in card["desiredOccupations"])
        return any(o.get("escoUri") == wanted for o in card["desiredOccupations"])

    def _skill(self, card: Mapping[str, Any]) -> bool:
        wanted = self.skill or ""
        folded = wanted.casefold()
        return any(
            s.get("uri") == wanted or s["label"].casefold() == folded for s in card["skills"]
        )

    def _language(self, card: Mapping[str, Any]) -> bool:
        minimum = CEFR_RANK[self.language_level] if self.language_level else -1
        return any(
            entry["code"] == self.language and CEFR_RANK.get(entry["level"], -1) >= minimum
            for entry in card["languages"]
        )


def _cursor_position(request: Request, listing: str, params: RequestParams) -> str | None:
    cursor = params.text("cursor")
    if cursor is None:
        return None
    key = get_cursors(request).decode(listing, cursor)
    if len(key) != 1 or not isinstance(key[0], str):  # pragma: no cover - never issued
        raise InvalidInput([InvalidParam("cursor", "Not a cursor of this list.", "cursor")])
    return key[0]


@router.get("/candidates", operation_id="searchCandidates")
async def search_candidates(
    request: Request, consumer: CandidateReader, params: SearchParams, settings: SettingsDep
) -> Response:
    """The caller's published cards that pass every filter, by pseudonym, keyset-paged."""
    card_filter = CardFilter.from_params(params)
    listing = search_listing(consumer)
    after = _cursor_position(request, listing, params)

    more = False

    def pick(cached: CachedView) -> list[int]:
        """The page's positions in the view; ``more`` when a further card passes too."""
        nonlocal more
        cards = cached.view.cards
        start = bisect_right(cards, after, key=lambda card: str(card["id"])) if after else 0
        picked: list[int] = []
        for position in range(start, len(cards)):
            if card_filter.admits(cards[position]):
                picked.append(position)
                if len(picked) > params.limit:
                    break
        more = len(picked) > params.limit
        return picked[: params.limit]

    cached, picked = await serve_cards(request, consumer, pick, "searchCandidates")
    view = cached.view
    next_cursor = (
        get_cursors(request).encode(listing, (str(view.cards[picked[-1]]["id"]),))
        if more and picked
        else None
    )
    links = page_links(
        request, base_url=settings.base_url, limit=params.limit, next_cursor=next_cursor
    )
    return fragment_page_response([view.rendered(position) for position in picked], links)


@router.get("/candidates/{pseudonym}", operation_id="getCandidate")
async def get_candidate(
    request: Request, consumer: CandidateReader, params: FetchParams
) -> Response:
    """One card under the caller's pseudonym; the same 404 for anything it may not see."""
    wanted = params.text("pseudonym") or ""

    def pick(cached: CachedView) -> list[int]:
        position = cached.view.index.get(wanted)
        return [] if position is None else [position]

    cached, picked = await serve_cards(request, consumer, pick, "getCandidate")
    if not picked:
        raise NotFound(NOT_PUBLISHED)
    (position,) = picked
    return Response(cached.view.rendered(position), media_type="application/json")
