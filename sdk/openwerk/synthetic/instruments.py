"""A publisher's catalogue of instruments (InstrumentInput): what an employer can get.

Every gemeente grants the same kinds of instrument under its own conditions (the
fragmentation employers complain about), so the catalogue varies per node: which
instruments it offers, amounts and maximum durations are drawn from the node's own stream,
within plausible bounds. Amounts are illustrative, not the legal figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from openwerk.synthetic._places import Place
from openwerk.synthetic._sampling import choice, node_tag, stream_key, uniform

__all__ = ["InstrumentTemplate", "build_catalogue"]


@dataclass(frozen=True, slots=True)
class InstrumentTemplate:
    """One instrument type with its Dutch texts and the bounds its parameters vary in."""

    type: str
    name: str
    description: str
    conditions: tuple[str, ...]
    target_groups: tuple[str, ...]
    amount: tuple[str, tuple[float, ...], str | None] | None  # kind, values, period
    months: tuple[int, ...] | None
    always: bool = False


_TEMPLATES: tuple[InstrumentTemplate, ...] = (
    InstrumentTemplate(
        "loonkostensubsidie",
        "Loonkostensubsidie",
        "Compensatie voor het verschil tussen de loonwaarde en het minimumloon, zolang de "
        "werknemer minder dan het minimumloon kan verdienen.",
        (
            "De werknemer hoort bij de doelgroep van de Participatiewet.",
            "De loonwaarde is vastgesteld op de werkplek.",
            "Dienstverband van minimaal 6 maanden.",
        ),
        ("loonkostensubsidie", "banenafspraak"),
        ("percentage", (60, 65, 70), None),
        None,
        always=True,
    ),
    InstrumentTemplate(
        "no-riskpolis",
        "No-riskpolis",
        "Bij ziekte van de werknemer betaalt UWV de ziektewet-uitkering; de werkgever "
        "draagt geen loonkostenrisico.",
        ("De werknemer staat in het doelgroepregister banenafspraak.",),
        ("no-riskpolis", "banenafspraak"),
        None,
        (60,),
        always=True,
    ),
    InstrumentTemplate(
        "jobcoach",
        "Jobcoaching",
        "Begeleiding op de werkplek door een jobcoach van de gemeente of een erkende organisatie.",
        (
            "Het dienstverband is minimaal 12 uur per week.",
            "Een werkplan met leerdoelen wordt binnen 6 weken opgesteld.",
        ),
        ("banenafspraak", "loonkostensubsidie", "beschut-werk-indicatie"),
        ("fixed", (4500, 5200, 6000, 6500), "year"),
        (12, 24, 36),
        always=True,
    ),
    InstrumentTemplate(
        "werkplekaanpassing",
        "Werkplekaanpassing",
        "Vergoeding van aanpassingen aan de werkplek of hulpmiddelen die nodig zijn om het "
        "werk te kunnen doen.",
        (
            "Aanvraag vooraf, met offerte.",
            "Geen voorziening die de werkgever zelf hoort te bieden.",
        ),
        ("banenafspraak", "loonkostensubsidie", "beschut-werk-indicatie"),
        ("fixed", (2500, 3000, 5000), "once"),
        None,
    ),
    InstrumentTemplate(
        "proefplaatsing",
        "Proefplaatsing",
        "Met behoud van uitkering proefdraaien om te zien of het werk past.",
        ("Uitzicht op een dienstverband van minimaal 6 maanden.",),
        (),
        None,
        (1, 2, 3),
        always=True,
    ),
    InstrumentTemplate(
        "loonkostenvoordeel",
        "Loonkostenvoordeel (LKV)",
        "Tegemoetkoming per verloond uur voor werknemers uit de doelgroep.",
        ("De werknemer heeft een doelgroepverklaring van UWV of de gemeente.",),
        ("banenafspraak",),
        ("fixed", (2.01,), "hour"),
        (36,),
    ),
    InstrumentTemplate(
        "praktijkleren-subsidie",
        "Subsidie praktijkleren",
        "Tegemoetkoming voor het begeleiden van een leerling op een leerwerkplek.",
        ("Leerwerkovereenkomst met een erkend leerbedrijf.",),
        ("praktijkroute",),
        ("fixed", (2700,), "year"),
        (12, 24),
    ),
    InstrumentTemplate(
        "participatieplaats",
        "Werkervaringsplaats",
        "Werkervaring opdoen met behoud van uitkering, met begeleiding vanuit de gemeente.",
        ("Maximaal 6 maanden, eenmaal te verlengen.", "Het werk is aanvullend."),
        (),
        None,
        (6, 12),
    ),
    InstrumentTemplate(
        "beschut-werk",
        "Beschut werk",
        "Een dienstverband in een beschutte omgeving met aangepaste begeleiding.",
        ("De werknemer heeft een indicatie beschut werk.",),
        ("beschut-werk-indicatie",),
        ("percentage", (70, 80), None),
        None,
    ),
    InstrumentTemplate(
        "vervoersvoorziening",
        "Vervoersvoorziening",
        "Vergoeding van vervoer naar het werk als eigen vervoer of OV niet lukt.",
        ("Alleen als de werknemer niet zelfstandig met OV kan reizen.",),
        ("banenafspraak", "beschut-werk-indicatie"),
        ("fixed", (150, 200, 250), "month"),
        (12, 24),
    ),
    InstrumentTemplate(
        "scholing",
        "Scholingsbudget",
        "Vergoeding van een korte opleiding of certificaat dat nodig is voor het werk.",
        ("Er is een baangarantie of een intentieverklaring van de werkgever.",),
        (),
        ("fixed", (1000, 1500, 2500), "once"),
        None,
    ),
)


def build_catalogue(
    *, seed: int, node_id: str, places: Sequence[Place], today: date
) -> list[dict[str, Any]]:
    """The node's instrument catalogue: InstrumentInput payloads, in template order."""
    r = uniform(stream_key(seed, node_id, "instruments"))
    applies_in = sorted(p.code for p in places)
    valid_from = date(today.year, 1, 1).isoformat()
    catalogue: list[dict[str, Any]] = []
    for number, template in enumerate(_TEMPLATES, start=1):
        if not template.always and r() < 0.3:
            continue
        instrument: dict[str, Any] = {
            "externalReference": f"{node_tag(node_id)}-INS-{number:03d}",
            "type": template.type,
            "name": template.name,
            "description": template.description,
            "conditions": list(template.conditions),
        }
        if template.amount is not None:
            kind, values, period = template.amount
            amount: dict[str, Any] = {"kind": kind, "value": choice(r, values)}
            if kind == "fixed":
                amount["currency"] = "EUR"
            if period is not None:
                amount["period"] = period
            instrument["amount"] = amount
        if template.months is not None:
            instrument["maxDurationMonths"] = choice(r, template.months)
        instrument["targetGroups"] = list(template.target_groups)
        instrument["appliesIn"] = applies_in
        instrument["validFrom"] = valid_from
        if r() < 0.5:
            instrument["validUntil"] = date(today.year + 1, 12, 31).isoformat()
        instrument["url"] = f"https://werk.example.org/{node_id}/instrumenten/{template.type}"
        catalogue.append(instrument)
    return catalogue
