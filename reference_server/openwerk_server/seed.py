"""Synthetic data written straight into a node's store: ``openwerk seed``, the demo, benches.

The data comes from ``openwerk.synthetic.Generator`` (deterministic for a seed, a node id,
a region and a day) and goes in through the ``Store``'s public methods, not over HTTP:
candidates with their consents in batches (``Store.create_candidate_batch``, one transaction
per batch, all or nothing per batch), then the node's instrument catalogue, then vacancies
and task offers (``Store.create_opportunity``, one transaction each: the store has no batch
path for opportunities, and at about 3 ms each 2,000 of them take a few seconds on SQLite).

The payloads are not validated against the spec's JSON Schemas here: the generator's own
tests validate its output, and a seed of 10,000 candidates would spend most of its time in
``jsonschema``. ``validate_sample`` checks the first few of each kind, so a generator that
drifts from the spec fails loudly instead of filling a node with data its API refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from openwerk.synthetic import Generator
from openwerk_server.storage import (
    BatchItem,
    InstrumentInput,
    OpportunityInput,
    Store,
)
from openwerk_spec.openapi import validation_errors

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "SeedPlan",
    "SeedReport",
    "SeedValidationError",
    "seed_store",
    "split_opportunities",
]

#: Candidates per transaction: the spec's maximum batch (``createCandidateBatch``).
DEFAULT_BATCH_SIZE = 1000
#: Share of the opportunities that are task offers (the rest are vacancies).
TASK_OFFER_SHARE = 0.3
_SAMPLE = 3

#: Called with (what, how many so far) after each batch; for progress output.
Progress = Callable[[str, int], None]


class SeedValidationError(ValueError):
    """The generator produced a payload the spec refuses (a bug in the generator)."""


@dataclass(frozen=True)
class SeedPlan:
    """What to seed. ``today`` anchors every generated date (default: the store's today)."""

    node_id: str
    candidates: int
    opportunities: int
    seed: int = 1
    arbeidsmarktregio: str | None = None
    gemeenten: Sequence[str] = ()
    today: date | None = None
    members: Sequence[str] = ()
    batch_size: int = DEFAULT_BATCH_SIZE
    instruments: bool = True
    validate_sample: bool = True

    def __post_init__(self) -> None:
        if self.candidates < 0 or self.opportunities < 0:
            raise ValueError("candidates and opportunities must be 0 or more")
        if not 1 <= self.batch_size <= DEFAULT_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{DEFAULT_BATCH_SIZE}")


@dataclass(frozen=True)
class SeedReport:
    """What was written, and how long it took (wall clock, seconds)."""

    candidates: int
    consents: int
    vacancies: int
    task_offers: int
    instruments: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def opportunities(self) -> int:
        """Vacancies plus task offers."""
        return self.vacancies + self.task_offers

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return {
            "candidates": self.candidates,
            "consents": self.consents,
            "vacancies": self.vacancies,
            "taskOffers": self.task_offers,
            "instruments": self.instruments,
            "opportunities": self.opportunities,
            "seconds": round(self.seconds, 3),
        }


def split_opportunities(total: int) -> tuple[int, int]:
    """(vacancies, task offers) for ``total`` opportunities: about 70 % / 30 %."""
    task_offers = int(total * TASK_OFFER_SHARE)
    return total - task_offers, task_offers


def _check(schema: str, documents: Sequence[dict[str, Any]]) -> None:
    for document in documents:
        problems = validation_errors(schema, document)
        if problems:
            raise SeedValidationError(
                f"the synthetic {schema} does not validate against the spec: "
                + "; ".join(problems[:3])
            )


def _batches(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(items, size)):
        yield batch


def seed_store(store: Store, plan: SeedPlan, *, progress: Progress | None = None) -> SeedReport:
    """Write ``plan``'s synthetic data into ``store`` (already migrated); returns the counts.

    Deterministic: the same plan (with the same ``today``) writes the same content; the ids
    the store assigns are its own.
    """
    started = time.perf_counter()
    today = plan.today or store.today()
    generator = Generator(
        plan.seed,
        node_id=plan.node_id,
        gemeenten=list(plan.gemeenten) or None,
        arbeidsmarktregio=plan.arbeidsmarktregio,
        today=today,
        members=list(plan.members),
    )
    timings: dict[str, float] = {}

    # -- candidates and their consents, one transaction per batch
    candidates = consents = 0
    for batch in _batches(generator.candidate_batch_items(plan.candidates), plan.batch_size):
        if plan.validate_sample and candidates == 0:
            _check("CandidateRecordInput", [item["candidate"] for item in batch[:_SAMPLE]])
            _check("ConsentInput", [c for item in batch[:_SAMPLE] for c in item["consents"]])
        results = store.create_candidate_batch([BatchItem.from_document(i) for i in batch])
        candidates += len(results)
        consents += sum(len(r.consent_ids) for r in results)
        if progress is not None:
            progress("candidates", candidates)
    timings["candidates"] = time.perf_counter() - started

    # -- the instrument catalogue the opportunities refer to
    mark = time.perf_counter()
    instruments = 0
    if plan.instruments and plan.opportunities:
        catalogue = generator.instruments()
        if plan.validate_sample:
            _check("InstrumentInput", catalogue[:_SAMPLE])
        for instrument in catalogue:
            store.create_instrument(
                InstrumentInput.from_document(instrument), publisher=plan.node_id
            )
            instruments += 1
        if progress is not None:
            progress("instruments", instruments)
    timings["instruments"] = time.perf_counter() - mark

    # -- vacancies and task offers (one transaction each: no batch path in the store)
    mark = time.perf_counter()
    n_vacancies, n_task_offers = split_opportunities(plan.opportunities)
    vacancies = _publish(
        store, "vacancy", "VacancyInput", generator.vacancies(n_vacancies), plan, progress
    )
    task_offers = _publish(
        store, "task-offer", "TaskOfferInput", generator.task_offers(n_task_offers), plan, progress
    )
    timings["opportunities"] = time.perf_counter() - mark

    return SeedReport(
        candidates=candidates,
        consents=consents,
        vacancies=vacancies,
        task_offers=task_offers,
        instruments=instruments,
        seconds=time.perf_counter() - started,
        timings=timings,
    )


def _publish(
    store: Store,
    resource: Any,
    schema: str,
    documents: Iterator[dict[str, Any]],
    plan: SeedPlan,
    progress: Progress | None,
) -> int:
    count = 0
    for document in documents:
        if plan.validate_sample and count < _SAMPLE:
            _check(schema, [document])
        store.create_opportunity(
            OpportunityInput.from_document(resource, document), publisher=plan.node_id
        )
        count += 1
        if progress is not None and count % plan.batch_size == 0:
            progress(resource, count)
    return count
