"""The privacy checks' own candidates: records the suite writes, changes and erases again.

Withdrawal and erasure must be seen to take effect, which the fixture dataset cannot show
without being changed for every later check. So those checks create scenario candidates —
identical quasi-identifiers (aged 67, Houten, nlqf-4), a fingerprint no fixture has, no BSN or
contact data — and erase them at the end. Their ``externalReference`` starts with
:data:`SCENARIO_PREFIX`, so leftovers of an interrupted run are found and erased first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from openwerk_conformance.context import RunContext
from openwerk_conformance.scenario import any_member_consent, erase_leftovers

__all__ = [
    "PUBLISHER",
    "SCENARIO_PREFIX",
    "erase_scenario",
    "probe_record",
    "scenario_consent",
    "scenario_record",
]

PUBLISHER: Final = "publisher"
#: externalReference prefix of the scenario candidates.
SCENARIO_PREFIX: Final = "openwerk-conformance-privacy-"


def scenario_record(index: int, tag: str, today: date) -> dict[str, Any]:
    """A record with no BSN, benefit or register data (OW-PRIV-002), aged 67 in Houten."""
    birth = today.replace(year=today.year - 67) - timedelta(days=120)
    return {
        "externalReference": f"{SCENARIO_PREFIX}{tag}-{index}",
        "person": {"givenName": "Proef", "familyName": "Scenario", "birthDate": birth.isoformat()},
        "gemeente": "GM0321",
        "educationLevel": "nlqf-4",
        "desiredOccupations": [{"isco08": "5322", "label": "thuiszorgmedewerker"}],
        "skills": [{"label": "conformance scenario"}],
        "languages": [{"code": "fy", "level": "A1"}],
        "hoursPerWeek": {"min": 13, "max": 17},
        "availableFrom": today.strftime("%Y-%m"),
        "wantedKinds": ["regular"],
        "supportNeeds": [],
        "eligibility": [],
    }


def scenario_consent(now: datetime) -> dict[str, Any]:
    """A valid any-member consent for matching and statistics, given an hour ago."""
    return any_member_consent(now, ["matching", "statistics"])


def erase_scenario(ctx: RunContext) -> None:
    """Erase every record the suite's scenarios left behind (found by their reference)."""
    erase_leftovers(ctx, SCENARIO_PREFIX)


def probe_record(tag: str) -> dict[str, Any]:
    """One scenario record in Utrecht, for checks that write and erase a single record."""
    record = scenario_record(0, tag, datetime.now(UTC).date())
    record["gemeente"] = "GM0344"
    return record
