"""Deterministic synthetic data for Open Werk nodes: candidates, consents, opportunities.

Used by ``openwerk seed``, the demo federation, the benchmarks and the conformance fixtures
(``spec/tools/build_fixtures.py``). Everything is invented — names, BSNs (elfproef-valid,
starting with 9), addresses, employers — but shaped like a real caseload: target groups with
their own ages, education, support needs and eligibility; entry-level ESCO occupations and
their skills; gemeenten of the node's arbeidsmarktregio. Every payload validates against the
spec's input schemas (CandidateRecordInput, ConsentInput, VacancyInput, TaskOfferInput,
InstrumentInput).

    >>> from openwerk.synthetic import Generator
    >>> gen = Generator(7, node_id="gemeente-utrecht", arbeidsmarktregio="AM13")
    >>> first = next(gen.candidates(1))
    >>> first["gemeente"] in gen.gemeenten
    True

This service uses the ESCO classification of the European Commission.
"""

from openwerk.synthetic._generator import DEFAULT_TODAY, Generator
from openwerk.synthetic._people import is_valid_bsn

__all__ = ["DEFAULT_TODAY", "Generator", "is_valid_bsn"]
