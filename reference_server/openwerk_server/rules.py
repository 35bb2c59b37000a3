"""Semantic rules on input that JSON Schema cannot express.

Code-list membership (a ``GM`` code that matches the pattern but names no gemeente), codes
that must agree (a gemeente and the arbeidsmarktregio given with it), ranges (``min`` ≤
``max``) and dates relative to today and to each other (OW-CONSENT-003). The checks run next
to the schema and are defensive about shape, so one response can list schema and semantic
problems together; a member that already failed its schema is not reported twice.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from openwerk_server.errors import InvalidParam
from openwerk_spec.codelists import codes, load_code_list

__all__ = [
    "Moment",
    "Rule",
    "add_months",
    "batch_rules",
    "candidate_rules",
    "consent_rules",
    "instrument_rules",
    "opportunity_rules",
    "reconfirmation_rules",
]

#: Clock skew tolerated on timestamps that must not lie in the future.
_SKEW = timedelta(minutes=5)
_CONSENT_MONTHS = 12


@dataclass(frozen=True)
class Moment:
    """The request's "now" and the Dutch calendar date, taken once per request."""

    now: datetime
    today: date


Rule = Callable[[Any, Moment, str], list[InvalidParam]]


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's end (29 Feb + 12 months → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _at(doc: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(doc, list) or key >= len(doc):
                return None
            doc = doc[key]
        elif isinstance(doc, dict):
            doc = doc.get(key)
        else:
            return None
    return doc


def _str(doc: Any, *path: str | int) -> str | None:
    value = _at(doc, *path)
    return value if isinstance(value, str) else None


def _date(doc: Any, *path: str | int) -> date | None:
    text = _str(doc, *path)
    try:
        return date.fromisoformat(text) if text is not None and len(text) == 10 else None
    except ValueError:
        return None


def _datetime(doc: Any, *path: str | int) -> datetime | None:
    text = _str(doc, *path)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else None


def _list(doc: Any, *path: str | int) -> list[Any]:
    value = _at(doc, *path)
    return value if isinstance(value, list) else []


class _Found:
    """Collects problems under a name prefix (``body`` or ``body.items[3].candidate``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[InvalidParam] = []

    def add(self, member: str, reason: str, code: str) -> None:
        self.items.append(InvalidParam(f"{self.prefix}.{member}", reason, code))


def _hours(found: _Found, hours: Any, member: str) -> None:
    """``min`` ≤ ``max`` of the hours object ``hours`` found at ``member``."""
    low, high = _at(hours, "min"), _at(hours, "max")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        found.add(f"{member}.min", f"min ({low}) must not exceed max ({high})", "range")


def _gemeente(found: _Found, member: str, code: str | None) -> bool:
    if code is not None and code.startswith("GM") and code not in codes("gemeenten"):
        found.add(member, "not a code in code list gemeenten", "code-list")
        return False
    # Not a GM code at all is the schema's finding (pattern); it is not usable here either.
    return code is not None and code in codes("gemeenten")


def _isco(found: _Found, member: str, code: str | None) -> None:
    if code is not None and len(code) == 4 and code.isdigit() and code not in codes("isco08"):
        found.add(member, "not an ISCO-08 unit group (code list isco08)", "code-list")


def _http_url(found: _Found, member: str, url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        found.add(member, "must be an absolute http(s) URL", "format")


def _esco_matches(found: _Found, member: str, uri: str | None, isco08: str | None) -> None:
    if uri is None or isco08 is None or uri not in codes("esco-occupations"):
        return
    expected = load_code_list("esco-occupations").item(uri).extra.get("isco08")
    if isinstance(expected, str) and expected != isco08:
        found.add(
            member, f"this ESCO occupation belongs to ISCO-08 unit group {expected}", "mismatch"
        )


def opportunity_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``VacancyInput`` and ``TaskOfferInput``."""
    found = _Found(prefix)
    _hours(found, _at(doc, "hoursPerWeek"), "hoursPerWeek")
    gemeente = _str(doc, "location", "gemeente")
    region = _str(doc, "location", "arbeidsmarktregio")
    if region is not None and region.startswith("AM") and region not in codes("arbeidsmarktregios"):
        found.add(
            "location.arbeidsmarktregio", "not a code in code list arbeidsmarktregios", "code-list"
        )
    elif _gemeente(found, "location.gemeente", gemeente) and region is not None:
        actual = load_code_list("gemeenten").item(str(gemeente)).extra.get("arbeidsmarktregio")
        if isinstance(actual, str) and region != actual:
            found.add(
                "location.arbeidsmarktregio",
                f"the gemeente lies in arbeidsmarktregio {actual}",
                "mismatch",
            )
    isco08 = _str(doc, "occupation", "isco08")
    _isco(found, "occupation.isco08", isco08)
    _esco_matches(found, "occupation.escoUri", _str(doc, "occupation", "escoUri"), isco08)
    # No rule between startDate and validThrough: validThrough ends the posting (the
    # application deadline), and a job often starts after that.
    low, high = _at(doc, "pay", "min"), _at(doc, "pay", "max")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        found.add("pay.min", "must not exceed pay.max", "range")
    _http_url(found, "applicationUrl", _str(doc, "applicationUrl"))
    for key in ("tasks", "expectedTasks"):
        for index, task in enumerate(_list(doc, key)):
            _hours(found, _at(task, "hoursPerWeek"), f"{key}[{index}].hoursPerWeek")
    attested = _date(doc, "nonDisplacement", "attestedOn")
    if attested is not None and attested > moment.today:
        found.add("nonDisplacement.attestedOn", "must not be in the future", "range")
    return found.items


def instrument_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``InstrumentInput``."""
    found = _Found(prefix)
    for index, code in enumerate(_list(doc, "appliesIn")):
        _gemeente(found, f"appliesIn[{index}]", code if isinstance(code, str) else None)
    start, until = _date(doc, "validFrom"), _date(doc, "validUntil")
    if start is not None and until is not None and start > until:
        found.add("validUntil", "must not be before validFrom", "range")
    _http_url(found, "url", _str(doc, "url"))
    return found.items


#: The elfproef's weights: digits weighted 9..2 and the last -1.
_ELFPROEF = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def _bsn_valid(bsn: str) -> bool:
    """The elfproef: digits weighted 9..2 and -1 sum to a multiple of 11."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    total: int = sum(map(operator.mul, map(int, bsn), _ELFPROEF))
    return total % 11 == 0


def candidate_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``CandidateRecordInput``.

    Runs for every item of a 1,000-candidate batch, so members are looked up once each
    (``person``, each occupation) rather than by their full path from the document.
    """
    found = _Found(prefix)
    _gemeente(found, "gemeente", _str(doc, "gemeente"))
    person = _at(doc, "person")
    birth = _date(person, "birthDate")
    if birth is not None and birth > moment.today:
        found.add("person.birthDate", "must not be in the future", "range")
    bsn = _str(person, "bsn")
    if bsn is not None and len(bsn) == 9 and bsn.isdigit() and not _bsn_valid(bsn):
        found.add("person.bsn", "fails the elfproef", "checksum")
    for index, occupation in enumerate(_list(doc, "desiredOccupations")):
        isco08 = _str(occupation, "isco08")
        _isco(found, f"desiredOccupations[{index}].isco08", isco08)
        uri = _str(occupation, "escoUri")
        _esco_matches(found, f"desiredOccupations[{index}].escoUri", uri, isco08)
    _hours(found, _at(doc, "hoursPerWeek"), "hoursPerWeek")
    return found.items


def _valid_until(found: _Found, member: str, until: date | None, start: date, today: date) -> None:
    if until is None:
        return
    if until < today:
        found.add(member, "must not be in the past", "range")
    elif until > add_months(start, _CONSENT_MONTHS):
        found.add(
            member,
            "must be at most 12 months after the consent was given (OW-CONSENT-003)",
            "range",
        )


def consent_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``ConsentInput``: not given in the future, valid at most 12 months."""
    found = _Found(prefix)
    given = _datetime(doc, "givenAt")
    if given is not None and given > moment.now + _SKEW:
        found.add("givenAt", "must not be in the future", "range")
    start = given.date() if given is not None else moment.today
    _valid_until(found, "validUntil", _date(doc, "validUntil"), start, moment.today)
    return found.items


def reconfirmation_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``Reconfirmation``: the new end at most 12 months after today."""
    found = _Found(prefix)
    _valid_until(found, "validUntil", _date(doc, "validUntil"), moment.today, moment.today)
    return found.items


def batch_rules(doc: Any, moment: Moment, prefix: str = "body") -> list[InvalidParam]:
    """Rules for ``CandidateBatch``: each candidate and consent, named by index."""
    problems: list[InvalidParam] = []
    for index, item in enumerate(_list(doc, "items")):
        problems += candidate_rules(
            _at(item, "candidate"), moment, f"{prefix}.items[{index}].candidate"
        )
        for number, consent in enumerate(_list(item, "consents")):
            problems += consent_rules(
                consent, moment, f"{prefix}.items[{index}].consents[{number}]"
            )
    return problems


def no_rules(_doc: Any, _moment: Moment, _prefix: str = "body") -> list[InvalidParam]:
    """For bodies the schema covers completely."""
    return []


RULES_BY_SCHEMA: Mapping[str, Rule] = {
    "VacancyInput": opportunity_rules,
    "TaskOfferInput": opportunity_rules,
    "InstrumentInput": instrument_rules,
    "CandidateRecordInput": candidate_rules,
    "CandidateBatch": batch_rules,
    "ConsentInput": consent_rules,
    "Reconfirmation": reconfirmation_rules,
    "Withdrawal": no_rules,
}
