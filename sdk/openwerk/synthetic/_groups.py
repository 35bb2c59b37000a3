"""The target groups a synthetic pool is made of, with what each looks like.

People at a distance from the labour market are not one population: a VSO leaver, a
statushouder, a Wajonger and a 58-year-old after long WW differ in age, education, support,
eligibility and in what work they look for. Drawing each candidate's group first and the
rest conditionally on it gives a pool whose mix and correlations look like a real caseload
(more 18–27 and 45–62 year-olds, ~20% education unknown, about a third with support needs,
~15% in the banenafspraak register). The figures are plausible estimates for a demo, not
statistics; benefit type and group never leave the generator (they are not in the model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openwerk.synthetic._reference import THEMES
from openwerk.synthetic._sampling import Draw, weighted

__all__ = ["GROUPS", "Group"]

_EDUCATION = (
    "below-nlqf-1", "nlqf-1", "nlqf-2", "nlqf-3", "nlqf-4",
    "nlqf-5", "nlqf-6", "nlqf-7", "nlqf-8", "unknown",
)  # fmt: skip

_THEME_BASE: Mapping[str, float] = {
    "cleaning": 16,
    "logistics_warehouse": 18,
    "production": 14,
    "horticulture_green": 10,
    "hospitality": 12,
    "retail": 12,
    "care_support": 8,
    "construction_helpers": 4,
    "administration": 3,
    "security": 2,
    "other_elementary": 1,
}
if sorted(_THEME_BASE) != sorted(THEMES):  # pragma: no cover - guards an edit
    raise RuntimeError("_THEME_BASE must weight exactly the reference themes")

_HOURS_GENERAL = ((8, 16, 1), (12, 20, 2), (16, 24, 3), (20, 32, 4), (24, 36, 3), (32, 40, 4),
                  (36, 40, 3))  # fmt: skip
_HOURS_SUPPORTED = ((8, 16, 3), (12, 20, 4), (16, 24, 4), (20, 28, 3), (24, 32, 2), (32, 40, 1))


@dataclass(frozen=True, slots=True)
class Group:
    """One target group and the conditional distributions of its members."""

    name: str
    weight: float
    ages: Draw[int]
    female: float
    newcomer: bool
    education: Draw[str]
    themes: Draw[str]
    hours: Draw[tuple[int, int]]
    support_probability: float
    support_codes: Draw[str]
    wanted: tuple[tuple[str, float], ...]
    eligibility: tuple[tuple[str, float], ...]
    travel_bands: Draw[str]
    modes: tuple[tuple[str, float], ...]


def _ages(segments: Sequence[tuple[int, int, float]]) -> Draw[int]:
    return weighted((age, w) for low, high, w in segments for age in range(low, high + 1))


def _education(weights: Sequence[float]) -> Draw[str]:
    return weighted(zip(_EDUCATION, weights, strict=True))


def _themes(**factors: float) -> Draw[str]:
    return weighted((t, w * factors.get(t, 1.0)) for t, w in _THEME_BASE.items())


def _hours(presets: Sequence[tuple[int, int, float]]) -> Draw[tuple[int, int]]:
    return weighted(((low, high), w) for low, high, w in presets)


_TRAVEL = weighted([("0-15", 20), ("15-30", 45), ("30-45", 25), ("45-60", 8), ("60-plus", 2)])
_TRAVEL_NEAR = weighted([("0-15", 40), ("15-30", 45), ("30-45", 15)])
_MODES = (("bicycle", 0.7), ("public-transport", 0.55), ("walk", 0.3), ("car", 0.2),
          ("moped", 0.05))  # fmt: skip

GROUPS: tuple[Group, ...] = (
    Group(
        name="bijstand",
        weight=34,
        ages=_ages([(18, 26, 2.0), (27, 44, 1.0), (45, 62, 1.6), (63, 67, 0.6)]),
        female=0.45,
        newcomer=False,
        education=_education([6, 12, 24, 16, 14, 2, 5, 2, 0.5, 18.5]),
        themes=_themes(),
        hours=_hours(_HOURS_GENERAL),
        support_probability=0.2,
        support_codes=weighted([("jobcoach", 3), ("adapted-hours", 3), ("structured-tasks", 2),
                                ("language-support", 1), ("adapted-pace", 2),
                                ("close-supervision", 1), ("transport-support", 1),
                                ("physical-adaptation", 1)]),
        wanted=(("regular", 0.8), ("basisbaan", 0.2), ("detachering", 0.2),
                ("leerwerkplek", 0.15), ("werkervaringsplek", 0.3), ("proefplaatsing", 0.2),
                ("carved-tasks", 0.1), ("neighbourhood-task-package", 0.12),
                ("vrijwilligerswerk", 0.1)),
        eligibility=(("banenafspraak", 0.03), ("loonkostensubsidie", 0.12),
                     ("no-riskpolis", 0.03), ("praktijkroute", 0.01)),
        travel_bands=_TRAVEL,
        modes=_MODES,
    ),
    Group(
        name="newcomer",
        weight=15,
        ages=_ages([(18, 26, 2.5), (27, 44, 2.0), (45, 62, 0.6), (63, 67, 0.1)]),
        female=0.4,
        newcomer=True,
        education=_education([12, 5, 8, 6, 8, 2, 8, 5, 1, 45]),
        themes=_themes(hospitality=1.4, cleaning=1.2, production=1.2),
        hours=_hours([(16, 24, 2), (20, 32, 3), (24, 36, 3), (32, 40, 4), (36, 40, 3)]),
        support_probability=0.3,
        support_codes=weighted([("language-support", 8), ("visual-instructions", 4),
                                ("jobcoach", 2), ("structured-tasks", 1)]),
        wanted=(("regular", 0.7), ("leerwerkplek", 0.4), ("werkervaringsplek", 0.4),
                ("vrijwilligerswerk", 0.25), ("proefplaatsing", 0.2)),
        eligibility=(("loonkostensubsidie", 0.05), ("praktijkroute", 0.05)),
        travel_bands=_TRAVEL,
        modes=(("bicycle", 0.75), ("public-transport", 0.7), ("walk", 0.3), ("car", 0.05)),
    ),
    Group(
        name="wajong",
        weight=9,
        ages=_ages([(18, 26, 3.0), (27, 44, 1.5), (45, 62, 0.8), (63, 67, 0.2)]),
        female=0.4,
        newcomer=False,
        education=_education([25, 25, 22, 6, 2, 0, 0, 0, 0, 20]),
        themes=_themes(production=1.3, horticulture_green=1.3, other_elementary=2.0),
        hours=_hours(_HOURS_SUPPORTED),
        support_probability=0.85,
        support_codes=weighted([("jobcoach", 5), ("structured-tasks", 4), ("adapted-pace", 4),
                                ("quiet-workspace", 3), ("limited-stimuli", 3),
                                ("visual-instructions", 2), ("close-supervision", 2),
                                ("adapted-hours", 2), ("physical-adaptation", 1),
                                ("step-free-access", 1), ("transport-support", 1)]),
        wanted=(("banenafspraak", 0.85), ("carved-tasks", 0.4), ("regular", 0.3),
                ("proefplaatsing", 0.3), ("detachering", 0.2)),
        eligibility=(("banenafspraak", 0.8), ("loondispensatie", 0.5)),
        travel_bands=_TRAVEL_NEAR,
        modes=(("bicycle", 0.5), ("public-transport", 0.6), ("walk", 0.3),
               ("organised-transport", 0.2)),
    ),
    Group(
        name="vso-pro",
        weight=8,
        ages=_ages([(18, 21, 1.0)]),
        female=0.4,
        newcomer=False,
        education=_education([35, 35, 15, 2, 0, 0, 0, 0, 0, 13]),
        themes=_themes(retail=1.3, horticulture_green=1.3, hospitality=1.2,
                       logistics_warehouse=1.2),
        hours=_hours(_HOURS_SUPPORTED),
        support_probability=0.75,
        support_codes=weighted([("jobcoach", 5), ("structured-tasks", 4),
                                ("visual-instructions", 3), ("close-supervision", 3),
                                ("adapted-pace", 3), ("limited-stimuli", 2),
                                ("quiet-workspace", 2), ("transport-support", 2)]),
        wanted=(("banenafspraak", 0.6), ("leerwerkplek", 0.6), ("carved-tasks", 0.3),
                ("werkervaringsplek", 0.3), ("regular", 0.3)),
        eligibility=(("banenafspraak", 0.5), ("loonkostensubsidie", 0.35),
                     ("praktijkroute", 0.15)),
        travel_bands=_TRAVEL_NEAR,
        modes=(("bicycle", 0.8), ("public-transport", 0.5), ("walk", 0.3), ("moped", 0.1)),
    ),
    Group(
        name="nugger",
        weight=9,
        ages=_ages([(25, 34, 1.0), (35, 54, 1.6), (55, 62, 0.8)]),
        female=0.8,
        newcomer=False,
        education=_education([4, 6, 20, 20, 22, 4, 10, 3, 1, 10]),
        themes=_themes(care_support=2.5, administration=3.0, retail=1.3),
        hours=_hours([(8, 16, 2), (12, 20, 3), (16, 24, 4), (20, 28, 3), (24, 32, 2)]),
        support_probability=0.12,
        support_codes=weighted([("adapted-hours", 5), ("jobcoach", 2), ("language-support", 1)]),
        wanted=(("regular", 0.9), ("werkervaringsplek", 0.2), ("vrijwilligerswerk", 0.2),
                ("detachering", 0.1)),
        eligibility=(("loonkostensubsidie", 0.03),),
        travel_bands=_TRAVEL,
        modes=_MODES,
    ),
    Group(
        name="ww-long",
        weight=11,
        ages=_ages([(45, 54, 1.0), (55, 64, 1.4), (65, 67, 0.3)]),
        female=0.45,
        newcomer=False,
        education=_education([3, 7, 22, 22, 20, 4, 10, 4, 1, 7]),
        themes=_themes(logistics_warehouse=1.3, administration=2.0, security=2.0),
        hours=_hours([(20, 32, 2), (24, 32, 2), (32, 40, 4), (36, 40, 5)]),
        support_probability=0.15,
        support_codes=weighted([("adapted-hours", 3), ("physical-adaptation", 3),
                                ("step-free-access", 1), ("jobcoach", 1)]),
        wanted=(("regular", 0.95), ("detachering", 0.3), ("proefplaatsing", 0.2)),
        eligibility=(("no-riskpolis", 0.05), ("banenafspraak", 0.02)),
        travel_bands=_TRAVEL,
        modes=(("car", 0.5), ("bicycle", 0.6), ("public-transport", 0.4), ("walk", 0.2)),
    ),
    Group(
        name="beschut",
        weight=4,
        ages=_ages([(20, 62, 1.0)]),
        female=0.4,
        newcomer=False,
        education=_education([40, 25, 10, 0, 0, 0, 0, 0, 0, 25]),
        themes=_themes(production=2.0, horticulture_green=1.5, other_elementary=3.0,
                       cleaning=1.2),
        hours=_hours(_HOURS_SUPPORTED),
        support_probability=0.95,
        support_codes=weighted([("close-supervision", 5), ("structured-tasks", 4),
                                ("adapted-pace", 4), ("jobcoach", 3), ("limited-stimuli", 3),
                                ("quiet-workspace", 2), ("physical-adaptation", 2),
                                ("step-free-access", 2), ("adapted-hours", 2),
                                ("transport-support", 2), ("visual-instructions", 2)]),
        wanted=(("beschut-werk", 0.9), ("arbeidsmatige-dagbesteding", 0.3),
                ("carved-tasks", 0.3)),
        eligibility=(("beschut-werk-indicatie", 1.0), ("banenafspraak", 0.4),
                     ("loonkostensubsidie", 0.7)),
        travel_bands=_TRAVEL_NEAR,
        modes=(("organised-transport", 0.6), ("public-transport", 0.4), ("bicycle", 0.4),
               ("walk", 0.2)),
    ),
)  # fmt: skip

#: Groups by weight: the first draw for every candidate.
GROUP_TABLE: Draw[Group] = weighted((g, g.weight) for g in GROUPS)
