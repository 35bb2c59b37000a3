"""Synthetic candidate records (CandidateRecordInput) and their consents (ConsentInput).

Candidate *i* is a pure function of (seed, node id, today, places, *i*): it draws from its
own ``Random``, so it does not change when a caller asks for more candidates or starts
elsewhere. Consents are a separate stream for the same reason. Nothing is validated here
(generation must stay fast); the tests validate samples against the spec's schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from openwerk.synthetic._groups import GROUP_TABLE, Group
from openwerk.synthetic._people import (
    NEWCOMER_ORIGINS,
    ORIGINS,
    SETTLED_ORIGINS,
    bsn_for,
    email_for,
    phone_for,
)
from openwerk.synthetic._places import STREETS, Place
from openwerk.synthetic._reference import Occupation, Reference, Skill
from openwerk.synthetic._sampling import (
    Uniform,
    add_months,
    add_years,
    choice,
    node_tag,
    pick_k,
    randint,
    stream_key,
    uniform,
    weighted,
    year_month,
)

__all__ = ["CandidateFactory"]

_KIND_ORDER = (
    "regular", "banenafspraak", "basisbaan", "beschut-werk", "detachering", "leerwerkplek",
    "carved-tasks", "neighbourhood-task-package", "werkervaringsplek", "proefplaatsing",
    "vrijwilligerswerk", "arbeidsmatige-dagbesteding",
)  # fmt: skip
_SUPPORT_ORDER = (
    "jobcoach", "adapted-pace", "quiet-workspace", "limited-stimuli", "structured-tasks",
    "language-support", "physical-adaptation", "adapted-hours", "close-supervision",
    "step-free-access", "visual-instructions", "transport-support",
)  # fmt: skip
_OCCUPATION_COUNT = weighted([(1, 50), (2, 35), (3, 15)])
_SUPPORT_COUNT = weighted([(1, 50), (2, 35), (3, 15)])
_MONTHS_UNTIL_AVAILABLE = weighted([(0, 30), (1, 25), (2, 15), (3, 10), (4, 8), (5, 7), (6, 5)])
# Postcode letters: F, I, O, Q, U and Y are not used, nor the pairs SA, SD and SS.
_PC_LETTERS = tuple(
    a + b
    for a in "ABCDEGHJKLMNPRSTVWXZ"
    for b in "ABCDEGHJKLMNPRSTVWXZ"
    if a + b not in ("SA", "SD", "SS")
)
_ISSUER = {
    "banenafspraak": "uwv",
    "no-riskpolis": "uwv",
    "loonkostensubsidie": "gemeente",
    "loondispensatie": "uwv",
    "beschut-werk-indicatie": "gemeente",
    "praktijkroute": "onderwijs",
}
_ELIGIBILITY_ORDER = tuple(_ISSUER)
# (months of validity from today, low/high), None when the indication has no end date
_ELIGIBILITY_VALIDITY: Mapping[str, tuple[int, int] | None] = {
    "banenafspraak": None,
    "no-riskpolis": (12, 60),
    "loonkostensubsidie": (6, 30),
    "loondispensatie": (12, 36),
    "beschut-werk-indicatie": (12, 60),
    "praktijkroute": (6, 18),
}

# Consents: who may see the profile.
_ORGANISATION_TYPE_SETS: tuple[tuple[str, ...], ...] = (
    ("gemeente", "uwv", "werkbedrijf", "sw-bedrijf"),
    ("werkgever", "platform"),
    ("sociale-onderneming", "sw-bedrijf", "re-integratiebedrijf"),
    ("gemeente", "werkbedrijf"),
    ("platform", "werkbedrijf", "re-integratiebedrijf"),
)
_COLLECTION = weighted([("with-jobcoach", 55), ("self-service", 30), ("via-representative", 15)])
_EVIDENCE_FOR = {
    "with-jobcoach": ("signed-form", "DOC"),
    "self-service": ("self-service-log", "LOG"),
    "via-representative": ("signed-form", "DOC"),
}
NOTICE_VERSIONS = ("2026.1", "2026.2", "2025.3")
_BUNDLES = 128  # skill sets per occupation (see CandidateFactory._bundles)


def _ordered(chosen: set[str], order: Sequence[str]) -> list[str]:
    return [code for code in order if code in chosen]


class CandidateFactory:
    """Builds candidate *i* and its consents for one node."""

    def __init__(
        self,
        *,
        seed: int,
        node_id: str,
        places: Sequence[Place],
        today: date,
        reference: Reference,
        members: Sequence[str],
    ) -> None:
        self._today = today
        self._members = tuple(members)
        self._places = weighted((p, p.population) for p in places)
        self._candidate_key = stream_key(seed, node_id, "candidate")
        self._consent_key = stream_key(seed, node_id, "consent")
        self._bsn_key = stream_key(seed, node_id, "bsn") >> 24
        self._tag = node_tag(node_id)
        self._occupations = {
            theme: weighted((o, o.weight) for o in occupations)
            for theme, occupations in reference.themes.items()
        }
        self._skill_stream = (seed, node_id)
        self._skill_bundles: dict[tuple[str, bool], tuple[tuple[Skill, ...], ...]] = {}
        work = uniform(stream_key(seed, node_id, "work-skills"))
        self._work_bundles = tuple(
            tuple(pick_k(work, reference.work_skills, randint(work, 1, 3))) for _ in range(_BUNDLES)
        )
        # Tables that turn the date arithmetic of the hot path into lookups: the day of
        # today's anniversary per age, the next 7 months, and per consent day offset.
        self._anniversary = {age: add_years(today, -age).toordinal() for age in range(15, 75)}
        self._months = tuple(year_month(today, m) for m in range(7))
        self._consent_days = tuple(self._consent_day(days) for days in range(1, 321))

    # ------------------------------------------------------------------ candidates

    def candidate(self, index: int) -> dict[str, Any]:
        """CandidateRecordInput payload of candidate ``index``."""
        r = uniform(self._candidate_key + index)
        group: Group = GROUP_TABLE(r)
        place: Place = self._places(r)
        age = group.ages(r)
        occupations = self._desired_occupations(r, group)
        support = self._support_needs(r, group)
        eligibility = self._eligibility(r, group)
        origin = ORIGINS[(NEWCOMER_ORIGINS if group.newcomer else SETTLED_ORIGINS)(r)]
        low, high = group.hours(r)
        record: dict[str, Any] = {
            "externalReference": f"{self._tag}-{index + 1:06d}",
            "person": self._person(r, index, origin.name, group, age, place),
            "gemeente": place.code,
            "educationLevel": group.education(r),
            "desiredOccupations": [o.ref() for o in occupations],
            "skills": self._skills(r, occupations),
            "languages": origin.languages_for(r),
            "hoursPerWeek": {"min": low, "max": high},
            "availableFrom": self._months[_MONTHS_UNTIL_AVAILABLE(r)],
        }
        if r() < 0.95:
            record["travel"] = self._travel(r, group)
        record["wantedKinds"] = self._wanted_kinds(r, group, eligibility)
        record["supportNeeds"] = support
        record["eligibility"] = eligibility
        return record

    def _person(
        self, r: Uniform, index: int, origin_name: str, group: Group, age: int, place: Place
    ) -> dict[str, Any]:
        origin = ORIGINS[origin_name]
        female = r() < group.female
        given = choice(r, origin.female if female else origin.male)
        family = choice(r, origin.family)
        if female and origin_name == "dutch" and r() < 0.08:
            family = f"{choice(r, origin.family)}-{family}"  # married name first
        # 4..360 days before the anniversary: the age holds, and no birthday falls within
        # 3 days of "today", so shifting every date by the same number of days (as the
        # conformance fixtures allow) never changes anyone's age.
        birth = date.fromordinal(self._anniversary[age] - randint(r, 4, 360))
        person: dict[str, Any] = {"givenName": given, "familyName": family}
        if r() < 0.95:
            person["bsn"] = bsn_for(index, self._bsn_key)
        person["birthDate"] = birth.isoformat()
        if r() < 0.85:
            person["email"] = email_for(r, given, family)
        if r() < 0.9:
            person["phone"] = phone_for(r)
        if r() < 0.95:
            number = str(randint(r, 1, 180))
            if r() < 0.1:
                number += choice(r, ("a", "b", "c", "-1", "-2", " bis"))
            person["address"] = {
                "street": choice(r, STREETS),
                "houseNumber": number,
                "postalCode": f"{randint(r, place.pc4_low, place.pc4_high)} "
                f"{choice(r, _PC_LETTERS)}",
                "city": place.name,
            }
        return person

    def _desired_occupations(self, r: Uniform, group: Group) -> list[Occupation]:
        theme = group.themes(r)
        chosen = [self._occupations[theme](r)]
        for _ in range(_OCCUPATION_COUNT(r) - 1):
            other_theme = theme if r() < 0.7 else group.themes(r)
            occupation = self._occupations[other_theme](r)
            if occupation not in chosen:
                chosen.append(occupation)
        return chosen

    def _skills(self, r: Uniform, occupations: Sequence[Occupation]) -> list[dict[str, str]]:
        chosen = list(self._bundles(occupations[0], True)[int(r() * _BUNDLES)])
        for occupation in occupations[1:]:
            chosen += self._bundles(occupation, False)[int(r() * _BUNDLES)]
        chosen += self._work_bundles[int(r() * _BUNDLES)]
        # Skills are unique objects in the reference, so this drops repeats, keeping order.
        return [skill.ref() for skill in dict.fromkeys(chosen)]

    def _bundles(self, occupation: Occupation, primary: bool) -> tuple[tuple[Skill, ...], ...]:
        """The skill sets people in this occupation are drawn from, built on first use.

        Drawing 3-7 essential and 0-3 optional skills per candidate is the costliest step of
        a candidate, so each occupation gets a fixed table of such sets (for the first
        desired occupation, and smaller ones for further occupations) and a candidate draws
        one set. Each table has its own stream, so it does not depend on which candidate
        needed it first.
        """
        table = self._skill_bundles.get((occupation.uri, primary))
        if table is None:
            seed, node_id = self._skill_stream
            stream = f"skills:{'first' if primary else 'more'}:{occupation.uri}"
            r = uniform(stream_key(seed, node_id, stream))
            table = tuple(
                (
                    *pick_k(
                        r, occupation.essential, randint(r, 3, 7) if primary else randint(r, 1, 4)
                    ),
                    *pick_k(r, occupation.optional, randint(r, 0, 3)),
                )
                for _ in range(_BUNDLES)
            )
            self._skill_bundles[(occupation.uri, primary)] = table
        return table

    def _travel(self, r: Uniform, group: Group) -> dict[str, Any]:
        modes = [mode for mode, p in group.modes if r() < p] or [group.modes[0][0]]
        return {"maxMinutes": group.travel_bands(r), "modes": modes}

    def _wanted_kinds(
        self, r: Uniform, group: Group, eligibility: list[dict[str, Any]]
    ) -> list[str]:
        kinds = {kind for kind, p in group.wanted if r() < p}
        types = {e["type"] for e in eligibility}
        if "banenafspraak" in types and r() < 0.8:
            kinds.add("banenafspraak")
        if "beschut-werk-indicatie" in types:
            kinds.add("beschut-werk")
        if not kinds:
            kinds.add(group.wanted[0][0])
        return _ordered(kinds, _KIND_ORDER)

    def _support_needs(self, r: Uniform, group: Group) -> list[str]:
        if r() >= group.support_probability:
            return []
        needs = {group.support_codes(r) for _ in range(_SUPPORT_COUNT(r))}
        return _ordered(needs, _SUPPORT_ORDER)

    def _eligibility(self, r: Uniform, group: Group) -> list[dict[str, Any]]:
        types = {kind for kind, p in group.eligibility if r() < p}
        if "banenafspraak" in types and r() < 0.8:
            types.add("no-riskpolis")
        if not types:
            return []
        result: list[dict[str, Any]] = []
        for kind in _ELIGIBILITY_ORDER:
            if kind not in types:
                continue
            item: dict[str, Any] = {"type": kind}
            validity = _ELIGIBILITY_VALIDITY[kind]
            if validity is not None and r() < 0.7:
                until = add_months(self._today, randint(r, *validity))
                item["validUntil"] = until.isoformat()
            item["issuerType"] = _ISSUER[kind]
            result.append(item)
        return result

    # ------------------------------------------------------------------ consents

    def consents(self, candidate: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        """ConsentInput payloads for candidate ``index`` (possibly none).

        About 85% consent to matching (most also to statistics, about half of those with
        support needs to sharing them, some to sharing eligibility); about 5% consent to
        statistics only; the rest have not consented (yet).
        """
        r = uniform(self._consent_key + index)
        draw = r()
        if draw >= 0.90:
            return []
        if draw >= 0.85:
            return [self._consent(r, ["statistics"], {"scope": "any-member"})]
        purposes = ["matching"]
        if candidate.get("supportNeeds") and r() < 0.5:
            purposes.append("share-support-needs")
        if candidate.get("eligibility") and r() < 0.4:
            purposes.append("share-eligibility")
        if r() < 0.85:
            purposes.append("statistics")
        return [self._consent(r, purposes, self._recipients(r))]

    def _recipients(self, r: Uniform) -> dict[str, Any]:
        draw = r()
        if draw < 0.72 or (draw >= 0.92 and not self._members):
            return {"scope": "any-member"}
        if draw < 0.92:
            types = choice(r, _ORGANISATION_TYPE_SETS)
            return {"scope": "organisation-types", "organisationTypes": list(types)}
        members = pick_k(r, self._members, randint(r, 1, 2))
        return {"scope": "members", "members": sorted(members)}

    def _consent(
        self, r: Uniform, purposes: list[str], recipients: dict[str, Any]
    ) -> dict[str, Any]:
        given_day, year, twelve, six = self._consent_days[int(r() * len(self._consent_days))]
        until = six if six is not None and r() < 0.2 else twelve
        method = _COLLECTION(r)
        consent: dict[str, Any] = {
            "purposes": purposes,
            "recipients": recipients,
            "givenAt": f"{given_day}T{randint(r, 8, 16):02d}:{5 * int(r() * 12):02d}:00Z",
            "validUntil": until,
            "collectionMethod": method,
            "noticeVersion": choice(r, NOTICE_VERSIONS),
        }
        if r() < 0.8:
            kind, prefix = _EVIDENCE_FOR[method]
            consent["evidence"] = {
                "kind": kind,
                "reference": f"{prefix}-{year}-{int(r() * 10**6):06d}",
            }
        return consent

    def _consent_day(self, days_ago: int) -> tuple[str, int, str, str | None]:
        """(givenAt day, its year, validUntil for 12 months, for 6 months or None).

        Consents are given 1..320 days ago and valid for 12 months, or for 6 when that
        still leaves more than a month; validUntil is never in the past (the API refuses
        that), and 320 days keeps a 12-month consent valid for six more weeks.
        """
        given = self._today - timedelta(days=days_ago)
        twelve = add_months(given, 12) - timedelta(days=1)
        six = add_months(given, 6) - timedelta(days=1)
        six_ok = six > self._today + timedelta(days=31)
        return (
            given.isoformat(),
            given.year,
            twelve.isoformat(),
            six.isoformat() if six_ok else None,
        )
