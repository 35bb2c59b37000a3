"""How the CLI shows results: rich tables for people, JSON for programs.

The tables show what a jobcoach or employer scans for — pseudonym, region, age band, wanted
occupations, hours — and, for a match, the score with its six components so the ranking can
be explained to the candidate (score-v1 is recomputable from the card).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from openwerk._errors import ApiError
from openwerk._introductions import Introduction
from openwerk._matching import MatchResult
from openwerk._models import CandidateProfile, OpenWerkModel

__all__ = [
    "print_candidates",
    "print_error",
    "print_introduction",
    "print_json",
    "print_match",
]

_COMPONENTS = ("occupation", "skills", "hours", "location", "availability", "support")


def print_json(value: OpenWerkModel | Iterable[OpenWerkModel] | Mapping[str, Any]) -> None:
    """Machine output: the node's JSON, camelCase, one document on stdout."""
    if isinstance(value, OpenWerkModel):
        data: Any = value.to_json_dict()
    elif isinstance(value, Mapping):
        data = dict(value)
    else:
        data = [item.to_json_dict() for item in value]
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _region(card: CandidateProfile) -> str:
    location = card.location
    return (
        f"{location.arbeidsmarktregio} / {location.gemeente}"
        if location.gemeente
        else (location.arbeidsmarktregio)
    )


def _occupations(card: CandidateProfile) -> str:
    return ", ".join(o.label or o.isco08 for o in card.desired_occupations) or "-"


def _card_cells(card: CandidateProfile) -> list[str]:
    return [
        card.id,
        _region(card),
        card.age_band or "-",
        _occupations(card),
        str(card.hours_per_week),
        card.available_from or "-",
    ]


def _card_columns(table: Table) -> None:
    table.add_column("Pseudonym", no_wrap=True)
    table.add_column("Region")
    table.add_column("Age")
    table.add_column("Occupations")
    table.add_column("Hours", justify="right")
    table.add_column("From")


def print_candidates(cards: list[CandidateProfile], node: str) -> None:
    """A table of candidate cards."""
    console = Console()
    table = Table(title=f"{len(cards)} candidate(s) at {node}", title_justify="left")
    _card_columns(table)
    for card in cards:
        table.add_row(*_card_cells(card))
    console.print(table)
    generalised = sum(1 for c in cards if c.generalised)
    if generalised:
        console.print(
            f"[dim]{generalised} card(s) generalised by the node's k-anonymity gate.[/dim]"
        )


def print_match(result: MatchResult) -> None:
    """A ranked table: score, components, and the card."""
    console = Console()
    where = result.node or "the node"
    table = Table(
        title=f"{len(result.items)} match(es) at {where} ({result.score_version})",
        title_justify="left",
    )
    table.add_column("Score", justify="right")
    _card_columns(table)
    table.add_column("occ  skl  hrs  loc  avl  sup", no_wrap=True)
    for item in result.items:
        parts = item.components.model_dump()
        components = " ".join(f"{parts[name]:.2f}" for name in _COMPONENTS)
        table.add_row(f"{item.score:.3f}", *_card_cells(item.candidate), components)
    console.print(table)
    if result.partial:
        missing = ", ".join(f"{n.node} ({n.status})" for n in result.nodes if n.status != "ok")
        console.print(f"[yellow]Partial answer: no cards from {missing}.[/yellow]")


def print_introduction(intro: Introduction) -> None:
    """An introduction's id, status and what happens next."""
    console = Console()
    table = Table(show_header=False, title=f"Introduction {intro.id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("Status", intro.status)
    table.add_row("Candidate", intro.candidate)
    if intro.opportunity is not None:
        table.add_row("Opportunity", f"{intro.opportunity.type} {intro.opportunity.id}")
    if intro.expires_at is not None:
        table.add_row("Expires", intro.expires_at.isoformat())
    if intro.identity is not None:
        who = f"{intro.identity.given_name} {intro.identity.family_name}"
        table.add_row("Candidate name", who)
        table.add_row(
            "Contact", f"{intro.identity.contact.channel}: {intro.identity.contact.value}"
        )
    console.print(table)


def print_error(error: ApiError) -> None:
    """The problem's title, detail, invalid parameters and trace id, on stderr."""
    console = Console(stderr=True, highlight=False)
    console.print(f"[red]error:[/red] {error.status} {escape(error.title or 'error')}")
    if error.detail:
        console.print(f"  {error.detail}", markup=False)
    for param in error.invalid_params:
        console.print(f"  - {param.get('name', '?')}: {param.get('reason', '?')}", markup=False)
    if error.trace_id:
        console.print(f"  trace id: {error.trace_id}", markup=False)
