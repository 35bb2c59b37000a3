"""Probe vacancies: the suite's own writes, for checks that must change a node's data.

A probe carries a unique ``externalReference`` (``openwerk-conformance-<purpose>-<hex>``) so
it can be told apart from the vendor's data, and every check that publishes one closes it
again, so it leaves the default lists as it found them.
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext

__all__ = [
    "PUBLISHER",
    "SAMPLE_VACANCY",
    "WRITE_SCOPE",
    "base_vacancy",
    "close_vacancy",
    "post_vacancy",
    "publish_probe",
]

PUBLISHER: Final = "publisher"
WRITE_SCOPE: Final = "publication:write"

#: A valid VacancyInput (a unit test validates it against the spec), used when the fixture
#: dataset offers none, as the base that each check changes in one known way.
SAMPLE_VACANCY: Final[dict[str, Any]] = {
    "externalReference": "openwerk-conformance-probe",
    "employer": {"name": "Conformance Probe B.V.", "kvkNumber": "12345678"},
    "title": "Medewerker groenonderhoud",
    "description": "Onderhoud van openbaar groen in een vast team.",
    "kind": "regular",
    "occupation": {"isco08": "9214", "label": "Garden and horticultural labourers"},
    "skills": [{"label": "snoeien", "importance": "essential"}],
    "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
    "hoursPerWeek": {"min": 24, "max": 32},
    "validThrough": "2099-12-31",
    "supportOffered": ["jobcoach"],
    "instruments": ["loonkostensubsidie"],
    "inclusiveRedesign": False,
}


def base_vacancy(ctx: RunContext, purpose: str = "refused") -> dict[str, Any]:
    """A valid vacancy document (the first fixture vacancy, else the sample) with a fresh
    ``externalReference``."""
    fixtures = ctx.fixtures_of("vacancy")
    base = copy.deepcopy(fixtures[0].document if fixtures else SAMPLE_VACANCY)
    base["externalReference"] = f"openwerk-conformance-{purpose}-{secrets.token_hex(6)}"
    return base


def post_vacancy(
    ctx: RunContext,
    body: Any = None,
    *,
    content: bytes | None = None,
    content_type: str = "application/json",
) -> Exchange:
    """POST /publication/vacancies as the publisher, with ``body`` as JSON or raw ``content``."""
    if body is not None:
        content = json.dumps(body).encode()
    return ctx.fetch(
        "POST",
        "/publication/vacancies",
        client=PUBLISHER,
        scope=WRITE_SCOPE,
        content=content,
        headers={"Content-Type": content_type},
    )


def publish_probe(ctx: RunContext, purpose: str) -> tuple[dict[str, Any], Exchange]:
    """Publish a fresh probe vacancy; the caller must close it (:func:`close_vacancy`)."""
    body = base_vacancy(ctx, purpose)
    body["title"] = f"Conformance probe ({purpose})"
    body["startDate"] = "2099-01-01"
    return body, post_vacancy(ctx, body)


def close_vacancy(ctx: RunContext, vacancy_id: str) -> Exchange:
    """POST the closure of a vacancy as the publisher."""
    return ctx.fetch(
        "POST", f"/publication/vacancies/{vacancy_id}/closure", client=PUBLISHER, scope=WRITE_SCOPE
    )
