"""Build the conformance fixture dataset in ``spec/v1/fixtures/`` from the synthetic generator.

The dataset is what ``openwerk-conformance`` loads into a node under test through the
publication API, plus the facts it may then assert without knowing any pseudonym
(``expected.json``). It is generated, not hand-written, so a change to the generator or the
scenarios is a re-run plus a reviewed diff, and a test proves the committed files equal what
this script gives. ``spec/v1/fixtures/README.md`` documents every file.

The candidates come from ``openwerk.synthetic.Generator`` (seed ``SEED``); this script then
lays scenarios over them: consent scopes per consumer, withdrawals, expiring consents,
candidates who never consented, quasi-identifier clusters so that k-anonymity classes form
at every level of the ladder, and candidates with distinctive identifying data for the PII
hunt. The expected visibility is computed here with the reference ladder (see
``_ladder``), which README.md states precisely.

Usage::

    python spec/tools/build_fixtures.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openwerk.synthetic import Generator
from openwerk_spec.codelists import age_band_for, broader_age_band, gemeente_region

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIR = REPO_ROOT / "spec" / "v1" / "fixtures"

SEED = 20261101
REFERENCE_DATE = date(2026, 11, 1)
EXPIRES_ON = REFERENCE_DATE + timedelta(days=7)
CUSTODIAN = "werkbedrijf-utrecht"
MUNICIPAL_PUBLISHER = "gemeente-utrecht"
REGION = "AM13"  # Midden-Utrecht
GEMEENTEN = ("GM0344", "GM0356", "GM0355", "GM0321")  # Utrecht, Nieuwegein, Zeist, Houten
CONSUMERS = {"consumer-a": "platform", "consumer-b": "werkgever"}
K = 5
N_CANDIDATES = 72
N_VACANCIES = 24
N_TASK_OFFERS = 12

# ---------------------------------------------------------------- scenarios (by key number)

_SCOPES: dict[str, dict[str, Any]] = {
    "any-member": {"scope": "any-member"},
    "types-platform": {
        "scope": "organisation-types",
        "organisationTypes": ["platform", "gemeente"],
    },
    "types-werkgever": {"scope": "organisation-types", "organisationTypes": ["werkgever"]},
    "types-sw": {
        "scope": "organisation-types",
        "organisationTypes": ["sw-bedrijf", "sociale-onderneming"],
    },
    "members-a": {"scope": "members", "members": ["consumer-a"]},
}

#: Everyone not listed gives one any-member consent to matching.
SCENARIOS: dict[int, str] = {
    5: "never", 23: "never", 41: "never", 60: "never",
    11: "statistics-only", 52: "statistics-only",
    17: "withdrawn", 34: "withdrawn", 66: "withdrawn",
    29: "withdrawn-then-members-a",
    8: "expiring", 46: "expiring", 70: "expiring",
    3: "types-platform", 19: "types-platform", 37: "types-platform", 55: "types-platform",
    63: "types-platform",
    26: "types-werkgever", 44: "types-werkgever", 58: "types-werkgever", 71: "types-werkgever",
    31: "types-sw", 49: "types-sw",
    7: "members-a", 21: "members-a", 39: "members-a", 54: "members-a", 68: "members-a",
}  # fmt: skip

#: Quasi-identifier clusters (gemeente, youngest age, education, keys): people who share the
#: level-0 tuple, so that classes form at level 0 for one consumer and not for the other
#: (members-a and platform-only consents), and shrink on withdrawal (17) or expiry (46).
#: Other candidates may happen to join a class; expected.json has the resulting classes.
CLUSTERS: tuple[tuple[str, int, str, tuple[int, ...]], ...] = (
    ("GM0344", 20, "nlqf-2", (1, 2, 4, 6, 7, 10, 12)),  # 7 is members-a
    ("GM0344", 50, "unknown", (14, 15, 19, 37, 40, 43)),  # 19 and 37 are platform-only
    ("GM0356", 25, "nlqf-1", (16, 17, 18, 20, 22)),  # 17 withdraws
    ("GM0355", 45, "nlqf-3", (24, 25, 27, 28, 46)),  # 46 expires
)
#: Gemeente of everyone outside a cluster, in turn, so that all four hold several candidates.
_SPREAD = ("GM0344", "GM0356", "GM0344", "GM0355", "GM0321", "GM0344", "GM0356", "GM0321")

#: Distinctive identifying data the conformance suite hunts for in L0-L2 responses.
DISTINCTIVE: dict[int, dict[str, Any]] = {
    9: {"givenName": "Floortje", "familyName": "Zwaneveld-Oosterhout", "bsn": "999990019",
        "email": "f.zwaneveld-oosterhout@example.com", "phone": "06-13572468",
        "street": "Zwanevlietsingel", "houseNumber": "88-3"},
    29: {"givenName": "Merhawit", "familyName": "Tesfamariam-Ghebrezgiabher",
         "email": "merhawit.tg@example.net", "phone": "+31 6 24681357",
         "street": "Kwakernaakhof", "houseNumber": "7b",
         "languages": [{"code": "ti", "level": "C2"}, {"code": "nl", "level": "A2"},
                       {"code": "en", "level": "A2"}]},
    44: {"givenName": "Dirk-Jan", "familyName": "Quaedvlieg-Ouwerkerk",
         "email": "dj.quaedvlieg@example.org", "phone": "06 97 53 19 75",
         "street": "Ouwehandsgaarde", "houseNumber": "131"},
    60: {"givenName": "Yolanthe", "familyName": "Vredenburgh-Wttewaall",
         "email": "yolanthe.vw@example.com", "phone": "06-86420975",
         "street": "Wttewaallstraat", "houseNumber": "12a"},
}  # fmt: skip


def key_of(number: int) -> str:
    return f"cand-{number:03d}"


# ---------------------------------------------------------------- building


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years (29 February becomes 28 February when needed)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _relocate(candidate: dict[str, Any], gen: Generator, gemeente: str, number: int) -> None:
    place = next(p for p in gen.places if p.code == gemeente)
    candidate["gemeente"] = gemeente
    address = candidate["person"].get("address")
    if address is not None:
        pc4 = place.pc4_low + (number * 7) % (place.pc4_high - place.pc4_low + 1)
        address["postalCode"] = f"{pc4} {address['postalCode'][-2:]}"
        address["city"] = place.name


def _set_age(candidate: dict[str, Any], age: int) -> None:
    birth = date.fromisoformat(candidate["person"]["birthDate"])
    moved = add_years(birth, _age_on(birth, REFERENCE_DATE) - age)
    candidate["person"]["birthDate"] = moved.isoformat()


def _consent(template: Mapping[str, Any] | None, gen: Generator, number: int) -> dict[str, Any]:
    """The generator's consent for this candidate as a template for dates and provenance."""
    if template is None:  # the generator drew no consent: borrow a neighbour's metadata
        for other in range(number + 100, number + 200):
            found = gen.consents_for(gen.candidate(other), other)
            if found:
                template = found[0]
                break
    if template is None:  # pragma: no cover - a hundred neighbours without consent
        raise RuntimeError("no consent template found")
    return {k: v for k, v in template.items() if k not in ("purposes", "recipients")}


def _purposes(candidate: Mapping[str, Any], number: int) -> list[str]:
    purposes = ["matching"]
    if candidate["supportNeeds"] and number % 2 == 0:
        purposes.append("share-support-needs")
    if candidate["eligibility"] and number % 3 == 0:
        purposes.append("share-eligibility")
    if number % 7 != 3:
        purposes.append("statistics")
    return purposes


def _consents(
    candidate: Mapping[str, Any], template: dict[str, Any], scenario: str, number: int
) -> list[dict[str, Any]]:
    def consent(purposes: list[str], scope: str, **changes: Any) -> dict[str, Any]:
        return {"purposes": purposes, "recipients": _SCOPES[scope], **template, **changes}

    purposes = _purposes(candidate, number)
    if scenario == "never":
        return []
    if scenario == "statistics-only":
        return [consent(["statistics"], "any-member")]
    if scenario == "withdrawn":
        return [consent(purposes, "any-member")]
    if scenario == "withdrawn-then-members-a":
        # A month later (never after the reference date) the candidate narrowed the scope.
        given = date.fromisoformat(template["givenAt"][:10])
        later = min(given + timedelta(days=30), REFERENCE_DATE - timedelta(days=1))
        narrower = consent(
            ["matching"],
            "members-a",
            givenAt=f"{later.isoformat()}{template['givenAt'][10:]}",
            validUntil=(add_years(later, 1) - timedelta(days=1)).isoformat(),
        )
        return [consent(purposes, "any-member"), narrower]
    if scenario == "expiring":
        return [consent(purposes, "any-member", validUntil=EXPIRES_ON.isoformat())]
    return [consent(purposes, scenario)]


def _candidates(gen: Generator) -> list[dict[str, Any]]:
    clustered = {n: (g, age + i % 5, edu) for g, age, edu, ns in CLUSTERS for i, n in enumerate(ns)}
    items = []
    for index, candidate in enumerate(gen.candidates(N_CANDIDATES)):
        number = index + 1
        template = next(iter(gen.consents_for(candidate, index)), None)
        if number in clustered:
            gemeente, age, education = clustered[number]
            _relocate(candidate, gen, gemeente, number)
            _set_age(candidate, age)
            candidate["educationLevel"] = education
        else:
            _relocate(candidate, gen, _SPREAD[number % len(_SPREAD)], number)
        if number in DISTINCTIVE:
            fields = dict(DISTINCTIVE[number])
            address = {"street": fields.pop("street"), "houseNumber": fields.pop("houseNumber")}
            if "languages" in fields:
                candidate["languages"] = fields.pop("languages")
            candidate["person"].update(fields)
            candidate["person"].setdefault("address", {"postalCode": "3511 AB"})
            candidate["person"]["address"].update(address)
            _relocate(candidate, gen, candidate["gemeente"], number)
            candidate["person"] = {  # keep the schema's member order
                k: candidate["person"][k]
                for k in ("givenName", "familyName", "bsn", "birthDate", "email", "phone",
                          "address")
                if k in candidate["person"]
            }  # fmt: skip
        scenario = SCENARIOS.get(number, "any-member")
        consents = _consents(candidate, _consent(template, gen, number), scenario, number)
        items.append({"key": key_of(number), "candidate": candidate, "consents": consents})
    return items


def _covering(make: Iterable[dict[str, Any]], count: int, kinds: Iterable[str]) -> list[Any]:
    """The first ``count`` items, swapping the last ones for missing kinds if needed."""
    pool = list(make)
    chosen = pool[:count]
    for kind in kinds:
        if not any(o["kind"] == kind for o in chosen):
            extra = next(o for o in pool[count:] if o["kind"] == kind)
            victim = max(
                i for i, o in enumerate(chosen) if Counter(c["kind"] for c in chosen)[o["kind"]] > 1
            )
            chosen[victim] = extra
    return chosen


VACANCY_KINDS = (
    "regular",
    "banenafspraak",
    "basisbaan",
    "beschut-werk",
    "detachering",
    "leerwerkplek",
)
TASK_OFFER_KINDS = (
    "carved-tasks",
    "neighbourhood-task-package",
    "werkervaringsplek",
    "proefplaatsing",
    "vrijwilligerswerk",
    "arbeidsmatige-dagbesteding",
)


# ---------------------------------------------------------------- expectations


def _covers(consent: Mapping[str, Any], consumer: str) -> bool:
    recipients = consent["recipients"]
    scope = recipients["scope"]
    if scope == "any-member":
        return True
    if scope == "organisation-types":
        return CONSUMERS[consumer] in recipients["organisationTypes"]
    return consumer in recipients["members"]


def _active(item: Mapping[str, Any], withdrawn: set[tuple[str, int]], on: date) -> list[Any]:
    return [
        c
        for i, c in enumerate(item["consents"])
        if (item["key"], i) not in withdrawn and date.fromisoformat(c["validUntil"]) >= on
    ]


def _ladder(profiles: Mapping[str, tuple[str, int, str]]) -> dict[str, dict[str, Any]]:
    """The reference k-anonymity ladder over one consumer's consented profiles.

    Level 0 (gemeente, 5-year band, education), 1 (arbeidsmarktregio instead of gemeente),
    2 (10-year band), 3 (education omitted). At each level the profiles still left are
    grouped by their generalised tuple; classes of at least K are published at that level
    and leave; what remains after level 3 is withheld, with the size of its level-3 class
    (what ``listWithheldProfiles`` reports as ``classSize``). spec/docs/k-anonymity.md.
    """
    left = dict(profiles)
    result: dict[str, dict[str, Any]] = {}
    last: dict[tuple[str, str, str | None], list[str]] = {}
    for level in range(4):
        classes: dict[tuple[str, str, str | None], list[str]] = {}
        for key, (gemeente, age, education) in left.items():
            band = age_band_for(age, 5)
            qi = (
                gemeente if level == 0 else gemeente_region(gemeente),
                band if level < 2 else broader_age_band(band),
                education if level < 3 else None,
            )
            classes.setdefault(qi, []).append(key)
        for (location, shown_band, shown_education), keys in sorted(classes.items(), key=str):
            if len(keys) < K:
                continue
            generalised = ["location", "ageBand", "educationLevel"][:level]
            for key in keys:
                card: dict[str, Any] = {"level": level, "location": location, "ageBand": shown_band}
                if shown_education is not None:
                    card["educationLevel"] = shown_education
                result[key] = {**card, "generalised": generalised, "classSize": len(keys)}
                del left[key]
        last = classes
    for keys in last.values():
        for key in keys:
            if key in left:
                result[key] = {"withheld": True, "classSize": len(keys)}
    return dict(sorted(result.items()))


def _round5(count: int) -> dict[str, Any]:
    if count < 10:
        return {"suppressed": True}
    return {"count": 5 * ((count + 2) // 5), "suppressed": False}


def _view(
    items: list[dict[str, Any]], consumer: str, withdrawn: set[tuple[str, int]], on: date
) -> dict[str, Any]:
    invisible: dict[str, str] = {}
    profiles: dict[str, tuple[str, int, str]] = {}
    support: dict[str, list[str]] = {"mustShow": [], "mustHide": []}
    eligibility: dict[str, list[str]] = {"mustShow": [], "mustHide": []}
    statistics: list[dict[str, Any]] = []
    for item in items:
        key, candidate = item["key"], item["candidate"]
        active = [c for c in _active(item, withdrawn, on) if _covers(c, consumer)]
        purposes = {p for c in active for p in c["purposes"]}
        if "statistics" in purposes:
            statistics.append(candidate)
        if "matching" not in purposes:
            invisible[key] = _reason(item, consumer, withdrawn, on)
            continue
        birth = date.fromisoformat(candidate["person"]["birthDate"])
        profiles[key] = (candidate["gemeente"], _age_on(birth, on), candidate["educationLevel"])
        if candidate["supportNeeds"]:
            support["mustShow" if "share-support-needs" in purposes else "mustHide"].append(key)
        if candidate["eligibility"]:
            eligibility["mustShow" if "share-eligibility" in purposes else "mustHide"].append(key)
    cards = _ladder(profiles)
    withheld = [key for key, card in cards.items() if card.get("withheld")]
    by_gemeente = Counter(c["gemeente"] for c in statistics)
    return {
        "organisationType": CONSUMERS[consumer],
        "consented": sorted(profiles),
        "consentedCount": len(profiles),
        "invisible": dict(sorted(invisible.items())),
        "kAnonymity": {
            "k": K,
            "publishedCount": len(cards) - len(withheld),
            "withheldCount": len(withheld),
            "withheld": {key: cards[key]["classSize"] for key in withheld},
            "cards": {key: card for key, card in cards.items() if not card.get("withheld")},
        },
        "supportNeeds": support,
        "eligibility": eligibility,
        "statistics": {
            "trueTotal": len(statistics),
            "total": _round5(len(statistics)),
            "byGemeente": {g: _round5(by_gemeente[g]) for g in sorted(GEMEENTEN)},
        },
    }


def _reason(
    item: Mapping[str, Any], consumer: str, withdrawn: set[tuple[str, int]], on: date
) -> str:
    consents = item["consents"]
    matching = [(i, c) for i, c in enumerate(consents) if "matching" in c["purposes"]]
    if not consents:
        return "no-consent"
    if not matching:
        return "no-matching-purpose"
    covering = [(i, c) for i, c in matching if _covers(c, consumer)]
    if not covering:
        return "recipients-exclude-consumer"
    if all((item["key"], i) in withdrawn for i, _ in covering):
        return "withdrawn"
    return "expired"


def fingerprint(profile: Mapping[str, Any]) -> str:
    """A card's identity in the fixture, from fields an L2 card carries verbatim.

    sha256 over canonical JSON (sorted keys, no spaces, UTF-8) of desiredOccupations (the
    escoUri values, sorted), skills (the labels, sorted), hoursPerWeek, languages (sorted by
    code) and wantedKinds (sorted); the first 16 hex digits.
    """
    canonical = {
        "desiredOccupations": sorted(
            o.get("escoUri", o["isco08"]) for o in profile["desiredOccupations"]
        ),
        "skills": sorted(s["label"] for s in profile["skills"]),
        "hoursPerWeek": [profile["hoursPerWeek"]["min"], profile["hoursPerWeek"]["max"]],
        "languages": sorted([lang["code"], lang["level"]] for lang in profile["languages"]),
        "wantedKinds": sorted(profile["wantedKinds"]),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _needles(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    needles = []
    for item in items:
        person = item["candidate"]["person"]
        number = int(item["key"].split("-")[1])
        fields = ["bsn", "email", "phone"]
        if number in DISTINCTIVE:
            fields = ["familyName", *fields]
        for field in fields:
            if field in person:
                needles.append({"key": item["key"], "field": field, "value": person[field]})
        needles.append(
            {
                "key": item["key"],
                "field": "externalReference",
                "value": item["candidate"]["externalReference"],
            }
        )
        if number in DISTINCTIVE:
            address = person["address"]
            value = f"{address['street']} {address['houseNumber']}"
            needles.append({"key": item["key"], "field": "address", "value": value})
    return needles


# ---------------------------------------------------------------- the documents


def build() -> dict[str, Any]:
    """Every fixture file name → its JSON document (pure: writes nothing)."""
    gen = Generator(
        SEED,
        node_id=CUSTODIAN,
        gemeenten=GEMEENTEN,
        today=REFERENCE_DATE,
        members=("consumer-a",),
        weigh_by_population=False,
    )
    municipal = Generator(
        SEED, node_id=MUNICIPAL_PUBLISHER, gemeenten=("GM0344",), today=REFERENCE_DATE
    )
    candidates = _candidates(gen)
    vacancies = _covering(gen.vacancies(N_VACANCIES * 3), N_VACANCIES, VACANCY_KINDS)
    task_offers = _covering(gen.task_offers(N_TASK_OFFERS * 3), N_TASK_OFFERS, TASK_OFFER_KINDS)
    instruments = [
        {
            "publisher": publisher,
            "instruments": [
                {"key": f"{prefix}-{n:02d}", "instrument": instrument}
                for n, instrument in enumerate(source.instruments(), start=1)
            ],
        }
        for publisher, prefix, source in (
            (MUNICIPAL_PUBLISHER, "ins-gu", municipal),
            (CUSTODIAN, "ins-wu", gen),
        )
    ]
    withdrawals = [
        {"candidate": item["key"], "consent": 0}
        for item in candidates
        if SCENARIOS.get(int(item["key"][5:]), "").startswith("withdrawn")
    ]
    expiring = [
        {"candidate": item["key"], "consent": 0}
        for item in candidates
        if SCENARIOS.get(int(item["key"][5:])) == "expiring"
    ]
    lifecycle = {
        "referenceDate": REFERENCE_DATE.isoformat(),
        "withdrawals": withdrawals,
        "expiring": {"validUntil": EXPIRES_ON.isoformat(), "consents": expiring},
    }
    withdrawn = {(w["candidate"], w["consent"]) for w in withdrawals}
    after_expiry = EXPIRES_ON + timedelta(days=1)
    expected = {
        "seed": SEED,
        "referenceDate": REFERENCE_DATE.isoformat(),
        "custodian": CUSTODIAN,
        "arbeidsmarktregio": REGION,
        "gemeenten": sorted(GEMEENTEN),
        "counts": {
            "candidates": len(candidates),
            "consents": sum(len(i["consents"]) for i in candidates),
            "vacancies": len(vacancies),
            "taskOffers": len(task_offers),
            "instruments": {s["publisher"]: len(s["instruments"]) for s in instruments},
            "candidatesByGemeente": dict(
                sorted(Counter(i["candidate"]["gemeente"] for i in candidates).items())
            ),
            "vacanciesByKind": dict(sorted(Counter(v["kind"] for v in vacancies).items())),
            "taskOffersByKind": dict(sorted(Counter(t["kind"] for t in task_offers).items())),
            "vacanciesByGemeente": dict(
                sorted(Counter(v["location"]["gemeente"] for v in vacancies).items())
            ),
        },
        "consumers": {
            consumer: {
                "atLoad": _view(candidates, consumer, withdrawn, REFERENCE_DATE),
                "afterExpiry": _view(candidates, consumer, withdrawn, after_expiry),
            }
            for consumer in CONSUMERS
        },
        "fingerprints": {i["key"]: fingerprint(i["candidate"]) for i in candidates},
        "piiNeedles": _needles(candidates),
    }
    return {
        "candidates.json": candidates,
        "lifecycle.json": lifecycle,
        "vacancies.json": [
            {"key": f"vac-{n:03d}", "vacancy": v} for n, v in enumerate(vacancies, start=1)
        ],
        "task-offers.json": [
            {"key": f"task-{n:03d}", "taskOffer": t} for n, t in enumerate(task_offers, start=1)
        ],
        "instruments.json": instruments,
        "expected.json": expected,
    }


def render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- loading at another date

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def shift_dates(document: Any, today: date, reference: date = REFERENCE_DATE) -> Any:
    """A copy of a fixture document as if it had been generated on ``today``.

    The reference implementation of the rule in README.md: every string that is entirely a
    date or a UTC date-time moves by (today - reference) days; every string that is entirely
    a year-month moves by the number of calendar months between the two dates' months.
    Ages, consent lengths and "days until" stay the same, so the expectations still hold.
    """
    days = (today - reference).days
    months = (today.year - reference.year) * 12 + today.month - reference.month

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        if not isinstance(value, str):
            return value
        if _DATE.fullmatch(value):
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
        if _DATE_TIME.fullmatch(value):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(days=days)
            return moved.isoformat().replace("+00:00", "Z")
        if _MONTH.fullmatch(value):
            index = int(value[:4]) * 12 + int(value[5:]) - 1 + months
            return f"{index // 12:04d}-{index % 12 + 1:02d}"
        return value

    return move(document)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, document in build().items():
        path = FIXTURE_DIR / name
        text = render(document)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)} ({len(text.encode()):,} bytes)")
    if stale:
        print(f"out of date: {', '.join(stale)}; re-run without --check")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
