"""A scenario cohort: candidates the suite publishes itself, recognises, and erases again.

Matching, introductions and events can only be checked against profiles the suite knows the
inputs of — it must recompute scores, reveal identities and see tombstones — and the fixture
dataset may be absent (or must stay untouched for the privacy checks' expectations). So a
check opens a :func:`cohort`: ``k + 1`` candidate records written through the publication API
(k from the landing page) with identical quasi-identifiers that no fixture uses at any level
of the k-anonymity ladder below the last (Zeist GM0355, aged 18 — band 15-19 — education
``nlqf-6``, inside the fixtures' region AM13), written in one batch so the class forms at
once. It is published at level 0 on its own, so it changes no fixture class; one member more
than k means one withdrawal leaves the class published. (The privacy checks' cohort is aged
67 in Houten, a class of its own as well.)

Each member carries the run's marker skill (recognise the suite's own cards among other
profiles) and a member skill (tell the members apart), a consent to ``matching`` for any
member (never ``statistics``, so statistics expectations are unaffected; member 5 also shares
its support needs, member 4 has needs it does not share), and a family name
holding the marker (so a revealed identity can be matched to its member). Members 0 and 1
have the same scoring inputs, so a match sees a score tie and its pseudonym tie-break.

The cohort is erased when the ``with`` block ends, also on failure; records of an earlier,
interrupted run are found by their ``externalReference`` prefix and erased first.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from openwerk_conformance.context import RunContext
from openwerk_conformance.listing import Walk
from openwerk_conformance.privacy_expected import node_k as stated_k
from openwerk_conformance.privacy_reads import READ_SCOPE, WRITE_SCOPE, walk_as

__all__ = [
    "COHORT_AGE",
    "COHORT_EDUCATION",
    "COHORT_GEMEENTE",
    "COHORT_PREFIX",
    "PUBLISHER",
    "Cohort",
    "CohortError",
    "Member",
    "any_member_consent",
    "cohort",
    "erase_leftovers",
    "node_k",
]

PUBLISHER: Final = "publisher"
#: ``externalReference`` prefix of every cohort record.
COHORT_PREFIX: Final = "openwerk-conformance-flow-"
#: Quasi-identifiers no fixture candidate has at any level of the ladder (see the docstring).
COHORT_GEMEENTE: Final = "GM0355"
COHORT_AGE: Final = 18
COHORT_EDUCATION: Final = "nlqf-6"
#: The occupation of every member; no fixture candidate wants it, so a match on it ranks the
#: cohort on top.
COHORT_OCCUPATION: Final = {"isco08": "7522", "label": "meubelmaker"}
#: Hours of each member by index (members 0 and 1 equal: the score tie).
_HOURS: Final = ((20, 24), (20, 24), (8, 12), (30, 36), (16, 20), (32, 40))
#: Support needs by index: member 4's are not shared (the card must not show them, and the
#: score must not see them, OW-MATCH-002); member 5 shares its two.
_SUPPORT: Final = {4: ["quiet-workspace"], 5: ["jobcoach", "adapted-pace"]}
_SHARES_SUPPORT: Final = frozenset({5})


class CohortError(Exception):
    """The node refused to create the cohort; checks that need it report this as a failure."""


@dataclass(frozen=True, slots=True)
class Member:
    """One cohort candidate as it lives at the node."""

    index: int
    candidate_id: str
    consent_id: str
    #: The ``CandidateRecordInput`` as written.
    record: dict[str, Any]

    @property
    def skill(self) -> str:
        """The label only this member has."""
        return str(self.record["skills"][1]["label"])

    @property
    def family_name(self) -> str:
        """The family name written, which a revealed identity must carry."""
        return str(self.record["person"]["familyName"])


@dataclass
class Cohort:
    """The members of one scenario and how to find their cards."""

    marker: str
    members: list[Member] = field(default_factory=list)

    def cards(self, ctx: RunContext, client: str) -> tuple[dict[int, dict[str, Any]], Walk]:
        """Each member's card as ``client`` sees it in searchCandidates, by member index."""
        listing = walk_as(ctx, "/candidates", client, READ_SCOPE, {"limit": 100})
        return self.own_cards(listing.items), listing

    def own_cards(self, cards: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """The cards (CandidateProfile objects) among ``cards`` that are members', by index."""
        found: dict[int, dict[str, Any]] = {}
        by_skill = {m.skill: m.index for m in self.members}
        for card in cards:
            for skill in card.get("skills") or ():
                label = skill.get("label") if isinstance(skill, Mapping) else None
                if label in by_skill:
                    found[by_skill[label]] = card
        return found

    def pseudonyms(self, ctx: RunContext, client: str) -> dict[int, str]:
        """Each visible member's pseudonym for ``client``, by member index."""
        cards, _ = self.cards(ctx, client)
        return {i: str(card.get("id")) for i, card in cards.items()}

    def member(self, index: int) -> Member:
        """The member with this index."""
        return self.members[index]


def node_k(ctx: RunContext) -> int:
    """The node's k from its landing page (5, the spec's floor, when it does not say)."""
    stated = stated_k(ctx)
    return stated if stated is not None and stated > 0 else 5


def member_record(index: int, marker: str, today: date) -> dict[str, Any]:
    """The record of member ``index``: no BSN or contact data, only what scoring reads varies."""
    birth = today.replace(year=today.year - COHORT_AGE) - timedelta(days=120)
    low, high = _HOURS[index % len(_HOURS)]
    return {
        "externalReference": f"{marker}-{index}",
        "person": {
            "givenName": f"Proef{index}",
            "familyName": f"Scenario-{marker.rsplit('-', 1)[-1]}-{index}",
            "birthDate": birth.isoformat(),
        },
        "gemeente": COHORT_GEMEENTE,
        "educationLevel": COHORT_EDUCATION,
        "desiredOccupations": [dict(COHORT_OCCUPATION)],
        "skills": [{"label": marker}, {"label": f"{marker}-m{index}"}],
        "languages": [{"code": "nl", "level": "B2"}],
        "hoursPerWeek": {"min": low, "max": high},
        "availableFrom": today.strftime("%Y-%m"),
        "wantedKinds": ["regular"],
        "supportNeeds": list(_SUPPORT.get(index, [])),
        "eligibility": [],
    }


def member_consent(index: int, now: datetime) -> dict[str, Any]:
    """A valid any-member consent to matching (and for some, sharing support needs)."""
    shares = ["share-support-needs"] if index in _SHARES_SUPPORT else []
    return any_member_consent(now, ["matching", *shares])


def any_member_consent(now: datetime, purposes: list[str]) -> dict[str, Any]:
    """A valid consent to any member for ``purposes``, given an hour ago, for 60 days."""
    return {
        "purposes": purposes,
        "recipients": {"scope": "any-member"},
        "givenAt": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (now.date() + timedelta(days=60)).isoformat(),
        "collectionMethod": "with-jobcoach",
        "noticeVersion": "2025.3",
    }


def erase_leftovers(ctx: RunContext, prefix: str = COHORT_PREFIX) -> None:
    """Erase every record an earlier run left behind, found by its reference's ``prefix``."""
    listing = walk_as(ctx, "/publication/candidates", PUBLISHER, WRITE_SCOPE, {"limit": 100})
    for record in listing.items:
        if str(record.get("externalReference", "")).startswith(prefix):
            erase(ctx, str(record.get("id")))


def erase(ctx: RunContext, candidate_id: str) -> int:
    """Erase one record; the status code (204, or 404 when it is already gone)."""
    return ctx.fetch(
        "DELETE", f"/publication/candidates/{candidate_id}", client=PUBLISHER, scope=WRITE_SCOPE
    ).status


def _create(ctx: RunContext, marker: str, size: int) -> Cohort:
    """Write the whole cohort in one batch, so its class forms at once (all or nothing)."""
    now = datetime.now(UTC)
    records = [member_record(index, marker, now.date()) for index in range(size)]
    batch = {
        "items": [
            {"candidate": r, "consents": [member_consent(i, now)]} for i, r in enumerate(records)
        ]
    }
    created = ctx.fetch(
        "POST",
        "/publication/candidate-batches",
        client=PUBLISHER,
        scope=WRITE_SCOPE,
        json_body=batch,
    )
    body = created.json()
    items = body.get("items") if isinstance(body, dict) else None
    if created.status not in (200, 201) or not isinstance(items, list) or len(items) != size:
        raise CohortError(f"{created.describe()}: the node refused the scenario batch")
    made = Cohort(marker=marker)
    for index, (record, item) in enumerate(zip(records, items, strict=True)):
        consents = item.get("consentIds") if isinstance(item, dict) else None
        if not isinstance(consents, list) or len(consents) != 1:
            raise CohortError(f"{created.describe()}: item {index} has no consent id")
        made.members.append(Member(index, str(item.get("candidateId")), str(consents[0]), record))
    return made


@contextmanager
def cohort(ctx: RunContext, purpose: str, size: int | None = None) -> Iterator[Cohort]:
    """A published cohort of ``size`` (default k + 1) members, erased when the block ends.

    ``purpose`` is a short word for the marker (``match``, ``intro``, ...), so a leftover
    shows which check wrote it. Raises :class:`CohortError` when the node refuses a write.
    """
    erase_leftovers(ctx)
    marker = f"{COHORT_PREFIX}{purpose}-{secrets.token_hex(4)}"
    made = Cohort(marker=marker)
    try:
        made = _create(ctx, marker, size or node_k(ctx) + 1)
        yield made
    finally:
        for member in made.members:
            erase(ctx, member.candidate_id)
        # _create may have failed half-way: sweep by the reference prefix as well.
        erase_leftovers(ctx)
