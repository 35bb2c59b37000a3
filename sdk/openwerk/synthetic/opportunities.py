"""Synthetic vacancies (VacancyInput) and task offers (TaskOfferInput).

A task offer answers the seven employer intake questions (tasks now, tasks expected later,
task skills, work skills, the workplace, supervision, external support needed) and carries
the non-displacement attestation. Required skills come from the same ESCO reference as the
candidates' skills, with the same URIs, so score-v1 finds real overlaps. Opportunity *i* is
a pure function of (seed, node id, today, places, *i*), like candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from openwerk.synthetic._places import Place
from openwerk.synthetic._reference import Occupation, Reference
from openwerk.synthetic._sampling import (
    Uniform,
    choice,
    node_tag,
    pick_k,
    randint,
    stream_key,
    uniform,
    weighted,
)
from openwerk.synthetic._work import (
    ATTESTED_BY,
    NAME_WORDS,
    PAY_MINIMUM_HOURLY,
    REQUESTERS,
    SUPERVISION,
    THEME_WORK,
)
from openwerk_spec.codelists import load_code_list

__all__ = ["OpportunityFactory"]

_VACANCY_THEMES = weighted(
    [("cleaning", 16), ("logistics_warehouse", 18), ("production", 14),
     ("horticulture_green", 10), ("hospitality", 12), ("retail", 12), ("care_support", 8),
     ("construction_helpers", 4), ("administration", 3), ("security", 2),
     ("other_elementary", 1)]
)  # fmt: skip
_VACANCY_KINDS = weighted(
    [("regular", 40), ("banenafspraak", 25), ("basisbaan", 8), ("beschut-werk", 7),
     ("detachering", 8), ("leerwerkplek", 12)]
)  # fmt: skip
_TASK_KINDS = weighted(
    [("carved-tasks", 30), ("neighbourhood-task-package", 15), ("werkervaringsplek", 20),
     ("proefplaatsing", 15), ("vrijwilligerswerk", 10), ("arbeidsmatige-dagbesteding", 10)]
)  # fmt: skip
_TASK_THEMES = {
    "neighbourhood-task-package": ("horticulture_green", "cleaning", "care_support"),
    "vrijwilligerswerk": ("care_support", "retail", "hospitality", "horticulture_green"),
    "arbeidsmatige-dagbesteding": ("horticulture_green", "production", "other_elementary"),
}
_HOURS = weighted(
    [((8, 16), 2), ((12, 20), 3), ((16, 24), 4), ((20, 32), 4), ((24, 32), 3), ((32, 40), 4),
     ((36, 40), 3)]
)  # fmt: skip
_SUPPORT = (
    "jobcoach", "adapted-pace", "quiet-workspace", "limited-stimuli", "structured-tasks",
    "language-support", "physical-adaptation", "adapted-hours", "close-supervision",
    "step-free-access", "visual-instructions", "transport-support",
)  # fmt: skip
_SUPPORTIVE_KINDS = frozenset({"banenafspraak", "beschut-werk", "leerwerkplek", "basisbaan"})
_INSTRUMENTS_FOR = {
    "regular": ("proefplaatsing", "loonkostenvoordeel", "scholing"),
    "banenafspraak": ("no-riskpolis", "loonkostensubsidie", "jobcoach", "werkplekaanpassing",
                      "loonkostenvoordeel", "proefplaatsing"),
    "basisbaan": ("loonkostensubsidie", "jobcoach"),
    "beschut-werk": ("beschut-werk", "jobcoach", "werkplekaanpassing", "vervoersvoorziening"),
    "detachering": ("proefplaatsing", "no-riskpolis"),
    "leerwerkplek": ("praktijkleren-subsidie", "scholing", "jobcoach"),
    "carved-tasks": ("loonkostensubsidie", "jobcoach", "no-riskpolis", "werkplekaanpassing"),
    "neighbourhood-task-package": ("participatieplaats", "jobcoach"),
    "werkervaringsplek": ("participatieplaats", "jobcoach"),
    "proefplaatsing": ("proefplaatsing", "jobcoach"),
    "vrijwilligerswerk": (),
    "arbeidsmatige-dagbesteding": ("vervoersvoorziening",),
}  # fmt: skip
_CONTRACTS = {
    "regular": (("fixed-term", 12), ("permanent", None), ("uitzend", None)),
    "banenafspraak": (("fixed-term", 12), ("permanent", None), ("payroll", 12)),
    "basisbaan": (("fixed-term", 24),),
    "beschut-werk": (("beschut-dienstverband", None),),
    "detachering": (("detachering", 12), ("detachering", 6)),
    "leerwerkplek": (("leerwerkovereenkomst", 12), ("leerwerkovereenkomst", 24)),
    "carved-tasks": (("fixed-term", 12), ("permanent", None), ("payroll", 6)),
}
_TITLE_PREFIX = {
    "basisbaan": "Basisbaan",
    "beschut-werk": "Beschut werk",
    "leerwerkplek": "Leerwerkplek",
    "werkervaringsplek": "Werkervaringsplek",
    "proefplaatsing": "Proefplaatsing",
}
_TITLE_SUFFIX = {"banenafspraak": " (banenafspraak)", "detachering": " (detachering)"}
_EXTERNAL_SUPPORT = ("jobcoach", "language-support", "transport-support", "structured-tasks")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class OpportunityFactory:
    """Builds vacancy *i* and task offer *i* for one node."""

    def __init__(
        self,
        *,
        seed: int,
        node_id: str,
        places: Sequence[Place],
        today: date,
        reference: Reference,
        instrument_types: Sequence[str],
    ) -> None:
        self._node_id = node_id
        self._tag = node_tag(node_id)
        self._today = today
        self._places = weighted((p, p.population) for p in places)
        self._vacancy_key = stream_key(seed, node_id, "vacancy")
        self._task_key = stream_key(seed, node_id, "task-offer")
        self._occupations = {
            theme: weighted((o, o.weight) for o in occupations)
            for theme, occupations in reference.themes.items()
        }
        self._work_skills = reference.work_skills
        self._instrument_types = frozenset(instrument_types)
        self._support_labels = {
            item.code: item.label["nl"].lower() for item in load_code_list("support-needs").items
        }

    # ------------------------------------------------------------------ shared parts

    def _employer(self, r: Uniform, theme: str, kind: str, place: Place) -> dict[str, Any]:
        work = THEME_WORK[theme]
        trade = choice(r, work.trades)
        if kind in ("neighbourhood-task-package", "basisbaan") and r() < 0.5:
            name, sbi = f"Gemeente {place.name}", "8411"
        elif kind == "arbeidsmatige-dagbesteding":
            name, sbi = f"Zorgboerderij {choice(r, NAME_WORDS)}", "8810"
        elif kind == "beschut-werk" or r() < 0.15:
            name, sbi = f"{choice(r, NAME_WORDS)} Werkt", choice(r, work.sbi)
        elif r() < 0.5:
            name, sbi = f"{trade} {choice(r, NAME_WORDS)}", choice(r, work.sbi)
        else:
            name, sbi = f"{choice(r, NAME_WORDS)} {trade} B.V.", choice(r, work.sbi)
        kvk = f"{randint(r, 5, 9)}{int(r() * 10**7):07d}"
        return {"name": name, "kvkNumber": kvk, "sbiCode": sbi}

    def _skills(self, r: Uniform, occupation: Occupation) -> list[dict[str, str]]:
        skills = []
        for skill in pick_k(r, occupation.essential, randint(r, 3, 6)):
            skills.append({**skill.ref(), "importance": "essential"})
        for skill in pick_k(r, occupation.optional, randint(r, 0, 3)):
            skills.append({**skill.ref(), "importance": "optional"})
        return skills

    def _support(self, r: Uniform, kind: str) -> list[str]:
        if kind in _SUPPORTIVE_KINDS or kind in _TASK_THEMES or kind == "carved-tasks":
            count = randint(r, 1, 4)
        else:
            count = randint(r, 1, 2) if r() < 0.4 else 0
        chosen = set(pick_k(r, _SUPPORT, count))
        return [code for code in _SUPPORT if code in chosen]

    def _instruments(self, r: Uniform, kind: str) -> list[str]:
        usable = [t for t in _INSTRUMENTS_FOR[kind] if t in self._instrument_types]
        return sorted(pick_k(r, usable, randint(r, 0, len(usable))))

    def _base(
        self, r: Uniform, *, kind: str, theme: str, reference: str, unpaid: bool
    ) -> tuple[dict[str, Any], Occupation, Place]:
        occupation = self._occupations[theme](r)
        place: Place = self._places(r)
        employer = self._employer(r, theme, kind, place)
        low, high = _HOURS(r)
        work = THEME_WORK[theme]
        opportunity: dict[str, Any] = {
            "externalReference": reference,
            "employer": employer,
            "title": "",  # filled in by the caller, which knows the tasks
            "description": "",
            "kind": kind,
            "occupation": occupation.ref(),
            "skills": self._skills(r, occupation),
            "location": {
                "gemeente": place.code,
                "arbeidsmarktregio": place.region,
                "postcode4": str(randint(r, place.pc4_low, place.pc4_high)),
            },
            "hoursPerWeek": {"min": low, "max": high},
        }
        contracts = _CONTRACTS.get(kind)
        if contracts is not None and not unpaid:
            contract_type, months = choice(r, contracts)
            contract: dict[str, Any] = {"type": contract_type}
            if months is not None:
                contract["durationMonths"] = months
            opportunity["contract"] = contract
            top = round(PAY_MINIMUM_HOURLY + choice(r, (0.5, 1.0, 1.75, 2.5)), 2)
            basis = "wettelijk minimumloon" if r() < 0.5 else work.pay_basis
            if kind == "beschut-werk":
                basis = "cao Aan de slag"
            opportunity["pay"] = {
                "min": PAY_MINIMUM_HOURLY,
                "max": top,
                "unit": "hour",
                "basis": basis,
            }
        opportunity["startDate"] = (self._today + timedelta(days=randint(r, 7, 90))).isoformat()
        opportunity["validThrough"] = (self._today + timedelta(days=randint(r, 14, 75))).isoformat()
        opportunity["supportOffered"] = self._support(r, kind)
        opportunity["instruments"] = self._instruments(r, kind)
        opportunity["inclusiveRedesign"] = r() < (
            0.6 if kind in _SUPPORTIVE_KINDS or kind == "carved-tasks" else 0.1
        )
        features = pick_k(r, work.features, randint(r, 1, len(work.features)))
        opportunity["workplace"] = {
            "features": [f for f in work.features if f in features],
            "supervision": choice(r, SUPERVISION),
        }
        return opportunity, occupation, place

    def _description(self, opportunity: dict[str, Any], place: Place, what: str) -> str:
        hours = opportunity["hoursPerWeek"]
        support = opportunity["supportOffered"]
        text = (
            f"{opportunity['employer']['name']} zoekt iemand voor {what} in {place.name}, "
            f"{hours['min']} tot {hours['max']} uur per week. "
        )
        if support:
            offered = ", ".join(self._support_labels[code] for code in support)
            text += f"Wij bieden onder meer: {offered}. "
        if opportunity["inclusiveRedesign"]:
            text += "Het werk is opnieuw ingericht zodat het past bij wat je kunt. "
        return text + "Ervaring is niet nodig; je wordt ingewerkt."

    # ------------------------------------------------------------------ vacancies

    def vacancy(self, index: int) -> dict[str, Any]:
        """VacancyInput payload of vacancy ``index``."""
        r = uniform(self._vacancy_key + index)
        theme, kind = _VACANCY_THEMES(r), _VACANCY_KINDS(r)
        reference = f"{self._tag}-VAC-{self._today.year}-{index + 1:05d}"
        vacancy, occupation, place = self._base(
            r, kind=kind, theme=theme, reference=reference, unpaid=False
        )
        label = _capital(occupation.label_nl)
        prefix = _TITLE_PREFIX.get(kind)
        vacancy["title"] = (f"{prefix}: {occupation.label_nl}" if prefix else label) + (
            _TITLE_SUFFIX.get(kind, "")
        )
        vacancy["description"] = self._description(vacancy, place, f"de functie {label}")
        if r() < 0.7:
            vacancy["applicationUrl"] = (
                f"https://werk.example.org/{self._node_id}/vacatures/{reference}"
            )
        return vacancy

    # ------------------------------------------------------------------ task offers

    def task_offer(self, index: int) -> dict[str, Any]:
        """TaskOfferInput payload of task offer ``index``."""
        r = uniform(self._task_key + index)
        kind = _TASK_KINDS(r)
        themes = _TASK_THEMES.get(kind)
        theme = choice(r, themes) if themes else _VACANCY_THEMES(r)
        unpaid = kind != "carved-tasks" or r() < 0.3
        reference = f"{self._tag}-TAAK-{self._today.year}-{index + 1:05d}"
        offer, occupation, place = self._base(
            r, kind=kind, theme=theme, reference=reference, unpaid=unpaid
        )
        work = THEME_WORK[theme]
        pool = pick_k(r, work.tasks, len(work.tasks))
        now, later = pool[: randint(r, 1, min(3, len(pool)))], pool[3:]
        later = later[: randint(r, 0, min(2, len(later)))]
        hours = offer["hoursPerWeek"]
        share = max(1, hours["max"] // len(now))
        offer["tasks"] = [
            {
                "title": title,
                "description": description,
                "hoursPerWeek": {"min": min(4, share), "max": share},
                "skills": [s.ref() for s in pick_k(r, occupation.essential, 2)],
            }
            for title, description in now
        ]
        offer["expectedTasks"] = [
            {"title": title, "description": f"Later, als het goed gaat. {description}"}
            for title, description in later
        ]
        offer["workSkills"] = [s.ref() for s in pick_k(r, self._work_skills, 3)]
        if r() < 0.6:
            external = set(pick_k(r, _EXTERNAL_SUPPORT, randint(r, 1, 2)))
            offer["externalSupportNeeded"] = [c for c in _EXTERNAL_SUPPORT if c in external]
        offer["requestedBy"] = choice(r, REQUESTERS[kind])
        attested_by = choice(r, ATTESTED_BY)
        attestation: dict[str, Any] = {
            "additional": True,
            "attestedBy": attested_by,
            "attestedOn": (self._today - timedelta(days=randint(r, 1, 60))).isoformat(),
        }
        if attested_by.startswith("werkgever"):
            attestation["consultedWorksCouncil"] = "ondernemingsraad" in attested_by
        offer["nonDisplacement"] = attestation
        first = now[0][0].lower()
        titles = {
            "carved-tasks": f"Taakpakket {work.area}: {first}",
            "neighbourhood-task-package": f"Buurttaken {place.name}: {first}",
            "vrijwilligerswerk": f"Vrijwilligerswerk {work.area}: {first}",
            "arbeidsmatige-dagbesteding": f"Dagbesteding {work.area}: {first}",
        }
        offer["title"] = titles.get(kind) or f"{_TITLE_PREFIX[kind]} {occupation.label_nl}"
        offer["description"] = self._description(
            offer, place, "taken als " + ", ".join(t[0].lower() for t in now)
        )
        return offer
