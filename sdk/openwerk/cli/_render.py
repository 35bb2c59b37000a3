"""How the CLI shows results: rich tables for people, JSON for programs.

The tables show what a jobcoach or employer scans for — pseudonym, region, age band, wanted
occupations, hours — and, for a match, the score with its six components so the ranking can
be explained to the candidate (score-v1 is recomputable from the card).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from openwerk._errors import ApiError
from openwerk._federation_merge import FederatedMatchResult, FederatedPage
from openwerk._introductions import Introduction
from openwerk._matching import MatchResult
from openwerk._models import CandidateProfile, NodeStatus, OpenWerkModel

__all__ = [
    "node_progress",
    "print_candidates",
    "print_error",
    "print_federated_candidates",
    "print_federated_match",
    "print_introduction",
    "print_json",
    "print_match",
    "print_node_statuses",
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


# --------------------------------------------------------------------------- federation


@contextmanager
def node_progress(total: int) -> Iterator[Callable[[NodeStatus], None]]:
    """A progress bar on stderr, one tick per node; yields the ``on_node_done`` hook."""
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("asking nodes"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        auto_refresh=False,
    )
    task = progress.add_task("", total=total)

    def tick(status: NodeStatus) -> None:
        progress.update(task, advance=1, description=f"{status.node}: {status.status}")
        progress.refresh()

    with progress:
        yield tick


def print_node_statuses(nodes: Sequence[NodeStatus], partial: bool) -> None:
    """What each node contributed, and whether the merged answer is partial."""
    console = Console()
    table = Table(title="Nodes", title_justify="left")
    table.add_column("Node", no_wrap=True)
    table.add_column("Status")
    table.add_column("Cards", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("Detail")
    for n in nodes:
        cards = "-" if n.item_count is None else str(n.item_count)
        ms = "-" if n.duration_ms is None else str(n.duration_ms)
        style = _STATUS_STYLE.get(n.status, "")
        table.add_row(n.node, n.status, cards, ms, n.detail or "", style=style)
    console.print(table)
    if partial:
        missing = ", ".join(f"{n.node} ({n.status})" for n in nodes if n.status != "ok")
        console.print(f"[yellow]Partial answer: nothing from {escape(missing)}.[/yellow]")
    else:
        console.print("Complete answer: every node answered.")


_STATUS_STYLE: dict[str, str] = {"ok": "", "timeout": "yellow", "refused": "red", "error": "red"}


def print_federated_candidates(page: FederatedPage[CandidateProfile]) -> None:
    """The merged candidate cards with the node each came from, then the node statuses."""
    console = Console()
    table = Table(title=f"{len(page.items)} candidate(s) in the federation", title_justify="left")
    table.add_column("Node", no_wrap=True)
    _card_columns(table)
    for card in page.items:
        table.add_row(card.node, *_card_cells(card))
    console.print(table)
    print_node_statuses(page.nodes, page.partial)


def print_federated_match(result: FederatedMatchResult) -> None:
    """The merged ranking (score, node, card), then the node statuses."""
    console = Console()
    table = Table(
        title=f"{len(result.items)} match(es) in the federation ({result.score_version})",
        title_justify="left",
    )
    table.add_column("Score", justify="right")
    table.add_column("Node", no_wrap=True)
    _card_columns(table)
    table.add_column("occ  skl  hrs  loc  avl  sup", no_wrap=True)
    for item in result.items:
        parts = item.components.model_dump()
        components = " ".join(f"{parts[name]:.2f}" for name in _COMPONENTS)
        table.add_row(f"{item.score:.3f}", item.node, *_card_cells(item.candidate), components)
    console.print(table)
    print_node_statuses(result.nodes, result.partial)
