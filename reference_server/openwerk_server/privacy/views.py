"""The L2 view one consumer gets of a node's pool (OW-CAND-001..005, OW-KANON-002).

Built in one pass: candidates whose consents in force cover the consumer for ``matching``
enter the k-anonymity gate; what it publishes becomes cards under the consumer's
pseudonyms. Support needs and eligibility join a card only under their own purposes. The
card is built field by field from a whitelist — nothing from the identified record can
reach it by accident (OW-TIER-003).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openwerk_server.jsontext import json_bytes
from openwerk_server.privacy.consent import ConsentRecord, Consumer, coverage
from openwerk_server.privacy.kanon import (
    GateResult,
    Published,
    QuasiIdentifiers,
    Withheld,
    apply_gate,
)
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_spec.codelists import age_band_for


@dataclass(frozen=True, slots=True)
class PoolCandidate:
    """What the view needs of a stored candidate: profile fields and consents, no identity."""

    internal_id: str
    gemeente: str
    arbeidsmarktregio: str
    birth_date: date
    profile: Mapping[str, Any]
    """The record's non-identifying fields as JSON (educationLevel, desiredOccupations, ...)."""
    consents: Sequence[ConsentRecord]


@dataclass
class PublishedView:
    """One consumer's view: cards sorted by pseudonym, and how to find them again."""

    consumer: Consumer
    cards: list[dict[str, Any]] = field(default_factory=list)
    internal_ids: list[str] = field(default_factory=list)
    """Parallel to ``cards``: the internal id behind each card (never leaves the node)."""
    index: dict[str, int] = field(default_factory=dict)
    """Pseudonym → position in ``cards``."""
    gate: GateResult[str] | None = None
    _rendered: dict[int, bytes] = field(default_factory=dict, repr=False, compare=False)

    def card(self, pseudonym_: str) -> dict[str, Any] | None:
        """The card under this pseudonym, if this consumer may see it."""
        position = self.index.get(pseudonym_)
        return None if position is None else self.cards[position]

    def rendered(self, position: int) -> bytes:
        """The card at ``position`` as the node's JSON, encoded once per view.

        A view never changes once built (a pool change builds a new one), so its cards'
        encodings can be kept with it: a search page is then spliced from bytes instead of
        encoding 20 cards on every request. Two threads racing here compute the same bytes.
        """
        encoded = self._rendered.get(position)
        if encoded is None:
            encoded = self._rendered[position] = json_bytes(self.cards[position])
        return encoded


def age_in_years(birth_date: date, today: date) -> int:
    """Completed years of age on ``today``."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def five_year_band(birth_date: date, today: date) -> str | None:
    """The 5-year band, the 10-year band where no 5-year band applies, or None."""
    age = age_in_years(birth_date, today)
    for width in (5, 10):
        try:
            return age_band_for(age, width)
        except ValueError:
            continue
    return None


def _card(
    candidate: PoolCandidate,
    published: Published,
    purposes: frozenset[str],
    last_confirmed: datetime,
    pseudo: str,
    node_id: str,
) -> dict[str, Any]:
    p = candidate.profile
    location: dict[str, str] = {"arbeidsmarktregio": published.arbeidsmarktregio}
    if published.gemeente is not None:
        location["gemeente"] = published.gemeente
    card: dict[str, Any] = {
        "id": pseudo,
        "node": node_id,
        "location": location,
        "ageBand": published.age_band,
        "desiredOccupations": [dict(o) for o in p.get("desiredOccupations", [])],
        "skills": [dict(s) for s in p.get("skills", [])],
        "languages": [dict(lang) for lang in p.get("languages", [])],
        "hoursPerWeek": dict(p["hoursPerWeek"]),
        "availableFrom": p["availableFrom"],
        "wantedKinds": list(p.get("wantedKinds", [])),
        "lastConfirmed": last_confirmed.strftime("%Y-%m"),
        "generalised": list(published.generalised),
    }
    if published.education_level is not None:
        card["educationLevel"] = published.education_level
    if p.get("travel"):
        card["travel"] = {
            "maxMinutes": p["travel"]["maxMinutes"],
            "modes": list(p["travel"]["modes"]),
        }
    if "share-support-needs" in purposes and p.get("supportNeeds"):
        card["supportNeeds"] = list(p["supportNeeds"])
    if "share-eligibility" in purposes and p.get("eligibility"):
        card["eligibility"] = [dict(e) for e in p["eligibility"]]
    return card


def build_view(
    candidates: Iterable[PoolCandidate],
    consumer: Consumer,
    *,
    node_id: str,
    secret: bytes,
    k: int,
    now: datetime,
) -> PublishedView:
    """The cards ``consumer`` may see at ``now``, after the k-anonymity gate."""
    today = now.date()
    eligible: dict[str, tuple[PoolCandidate, frozenset[str], datetime]] = {}
    qis: list[tuple[str, QuasiIdentifiers]] = []
    outside_bands: list[str] = []
    for candidate in candidates:
        cov = coverage(candidate.consents, consumer, now)
        if "matching" not in cov.purposes or cov.last_confirmed is None:
            continue
        band = five_year_band(candidate.birth_date, today)
        if band is None:
            outside_bands.append(candidate.internal_id)  # withheld, never silently dropped
            continue
        eligible[candidate.internal_id] = (candidate, cov.purposes, cov.last_confirmed)
        qis.append(
            (
                candidate.internal_id,
                QuasiIdentifiers(
                    candidate.gemeente,
                    candidate.arbeidsmarktregio,
                    band,
                    str(candidate.profile.get("educationLevel", "unknown")),
                ),
            )
        )
    gate = apply_gate(qis, k)
    if outside_bands:
        withheld = dict(gate.withheld) | {key: Withheld(class_size=0) for key in outside_bands}
        gate = GateResult(k=gate.k, published=gate.published, withheld=withheld)
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for internal_id, published in gate.published.items():
        candidate, purposes, last_confirmed = eligible[internal_id]
        pseudo = pseudonym(secret, consumer.client_id, internal_id)
        rows.append(
            (
                pseudo,
                internal_id,
                _card(candidate, published, purposes, last_confirmed, pseudo, node_id),
            )
        )
    rows.sort(key=lambda row: row[0])
    view = PublishedView(consumer=consumer, gate=gate)
    for position, (pseudo, internal_id, card) in enumerate(rows):
        view.cards.append(card)
        view.internal_ids.append(internal_id)
        view.index[pseudo] = position
    return view
