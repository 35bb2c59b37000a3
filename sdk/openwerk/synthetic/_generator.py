"""The public entry point: one seeded generator per node."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from openwerk.synthetic._places import places_for
from openwerk.synthetic._reference import load_reference
from openwerk.synthetic.candidates import CandidateFactory
from openwerk.synthetic.instruments import build_catalogue
from openwerk.synthetic.opportunities import OpportunityFactory

__all__ = ["DEFAULT_TODAY", "Generator"]

#: The default "today": output never depends on the wall clock unless the caller asks.
DEFAULT_TODAY = date(2026, 11, 1)


class Generator:
    """Deterministic synthetic data for one node: same arguments, byte-identical output.

    ``gemeenten`` limits where candidates live and opportunities are (default: the
    ``arbeidsmarktregio``'s gemeenten, or all of the Netherlands when neither is given);
    bigger gemeenten are drawn more often unless ``weigh_by_population`` is false.
    ``today`` anchors every date (birth dates, consent dates, availability, start dates);
    pass ``date.today()`` for data a live node accepts.
    ``members`` are directory member ids that some consents name as recipients; without
    them those consents name organisation types instead.

    Item *i* of each stream (candidates, consents, vacancies, task offers) depends only on
    the arguments and *i*, so ``candidates(10)`` is a prefix of ``candidates(1000)`` and
    ``candidates(10, start=990)`` its suffix.
    """

    def __init__(
        self,
        seed: int,
        *,
        node_id: str,
        gemeenten: Sequence[str] | None = None,
        arbeidsmarktregio: str | None = None,
        today: date = DEFAULT_TODAY,
        members: Sequence[str] = (),
        weigh_by_population: bool = True,
    ) -> None:
        self.seed = seed
        self.node_id = node_id
        self.today = today
        places = places_for(gemeenten, arbeidsmarktregio)
        if not weigh_by_population:
            places = [replace(p, population=1) for p in places]
        self.places = tuple(places)
        reference = load_reference()
        self._candidates = CandidateFactory(
            seed=seed,
            node_id=node_id,
            places=self.places,
            today=today,
            reference=reference,
            members=members,
        )
        self._instruments = build_catalogue(
            seed=seed, node_id=node_id, places=self.places, today=today
        )
        self._opportunities = OpportunityFactory(
            seed=seed,
            node_id=node_id,
            places=self.places,
            today=today,
            reference=reference,
            instrument_types=[i["type"] for i in self._instruments],
        )

    @property
    def gemeenten(self) -> tuple[str, ...]:
        """The gemeente codes this generator places people and work in."""
        return tuple(p.code for p in self.places)

    def candidate(self, index: int) -> dict[str, Any]:
        """Candidate ``index`` (CandidateRecordInput)."""
        if index < 0:
            raise ValueError("index must be >= 0")
        return self._candidates.candidate(index)

    def candidates(self, n: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        """Candidates ``start`` .. ``start + n - 1`` (CandidateRecordInput payloads)."""
        make = self._candidates.candidate
        for index in range(start, start + n):
            yield make(index)

    def consents_for(self, candidate: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        """The consents (ConsentInput payloads) candidate ``index`` gave; possibly none."""
        return self._candidates.consents(candidate, index)

    def candidate_batch_items(self, n: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        """``{candidate, consents}`` items, shaped for a CandidateBatch (≤ 1,000 per batch)."""
        make, consents = self._candidates.candidate, self._candidates.consents
        for index in range(start, start + n):
            candidate = make(index)
            yield {"candidate": candidate, "consents": consents(candidate, index)}

    def vacancies(self, n: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        """Vacancies ``start`` .. ``start + n - 1`` (VacancyInput payloads)."""
        for index in range(start, start + n):
            yield self._opportunities.vacancy(index)

    def task_offers(self, n: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        """Task offers ``start`` .. ``start + n - 1`` (TaskOfferInput payloads)."""
        for index in range(start, start + n):
            yield self._opportunities.task_offer(index)

    def instruments(self) -> list[dict[str, Any]]:
        """The node's instrument catalogue (InstrumentInput payloads); a fresh copy."""
        return [
            {
                k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in instrument.items()
            }
            for instrument in self._instruments
        ]
