"""The consumer commands: ``search``, ``match`` and ``introduce`` against one node.

``search`` and ``match`` also run over a whole federation: with ``--directory`` (a signed
directory file) and ``--operator-key`` (the pinned operator key) they fan out over the
directory's providers with a ``SyncFederatedClient`` — made by the app's
``FederatedFactory``, the test seam — and show the merged answer with a status per node.
``introduce`` stays node-only: pseudonyms are per node.

Each command builds a ``Client`` through the app's ``ClientFactory`` — ``Client`` itself in
production, a factory with an ``httpx.MockTransport`` in tests — so the commands run
unchanged against a fake node. Errors become exit codes here and nowhere else: a refusal
by the node (or the network) is 1 with the problem printed, a bad option is 2.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar, cast

import typer

from openwerk._client import Client
from openwerk._errors import ApiError, OpenWerkError
from openwerk._fanout import NodeDoneHook
from openwerk._federation_sync import SyncFederatedClient
from openwerk._introductions import ContactPerson
from openwerk._matching import OpportunityCriteria, OpportunityReference
from openwerk._params import CandidateFilters
from openwerk.assertions import ClientCredentials, token_endpoint_for
from openwerk.cli._render import (
    node_progress,
    print_candidates,
    print_error,
    print_federated_candidates,
    print_federated_match,
    print_introduction,
    print_json,
    print_match,
)
from openwerk.directory import Directory, DirectoryError, load_directory
from openwerk.keys import KeyFileError, load_jwks, load_private_key

__all__ = ["ClientFactory", "FederatedFactory", "register_consumer_commands"]

T = TypeVar("T")

#: The most a node returns per page (larger limits are clamped, OW-PAGE-003).
_MAX_PAGE = 100


class ClientFactory(Protocol):
    """Makes the ``Client`` a command uses; ``Client`` itself is one."""

    def __call__(
        self, base_url: str, *, credentials: ClientCredentials | None, strict: bool
    ) -> Client: ...


class FederatedFactory(Protocol):
    """Makes the ``SyncFederatedClient`` of directory mode; ``SyncFederatedClient`` is one."""

    def __call__(
        self,
        directory: Directory,
        *,
        credentials: ClientCredentials | None,
        deadline: float,
        on_node_done: NodeDoneHook | None,
    ) -> SyncFederatedClient: ...


NodeOption = Annotated[
    str,
    typer.Option(
        "--node",
        envvar="OPENWERK_NODE",
        help="The node's API root, e.g. https://node.example.nl/v1.",
        show_default=False,
    ),
]
OneNodeOption = Annotated[
    str | None,
    typer.Option(
        "--node",
        envvar="OPENWERK_NODE",
        help="The node's API root, e.g. https://node.example.nl/v1 (or give --directory).",
        show_default=False,
    ),
]
DirectoryOption = Annotated[
    Path | None,
    typer.Option(
        "--directory",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A signed federation directory (JWS file): ask all its providers (or give --node).",
    ),
]
OperatorKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--operator-key",
        exists=True,
        dir_okay=False,
        readable=True,
        help="The pinned operator public key (JWKS or JWK file); required with --directory.",
    ),
]
DeadlineOption = Annotated[
    float,
    typer.Option("--deadline", min=0.001, help="With --directory: seconds for the whole fan-out."),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--client-id",
        envvar="OPENWERK_CLIENT_ID",
        help="Your member id in the federation directory (with --key).",
    ),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="OPENWERK_KEY",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Your private signing key (JWK file) for the token request (with --client-id).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Refuse when the node does not declare the class.")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Member id of the opportunity's publisher, if not this node."),
]
VacancyOption = Annotated[str | None, typer.Option("--vacancy", help="A vacancy id.")]
TaskOfferOption = Annotated[str | None, typer.Option("--task-offer", help="A task offer id.")]


def _credentials(node: str, client_id: str | None, key: Path | None) -> ClientCredentials | None:
    if client_id is None and key is None:
        return None
    if client_id is None or key is None:
        raise typer.BadParameter(
            "--client-id and --key go together: the key signs the assertion for that id",
            param_hint="'--client-id' / '--key'",
        )
    try:
        return ClientCredentials.from_key_file(client_id, key, token_endpoint_for(node))
    except KeyFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--key'") from exc


@contextmanager
def _session(
    factory: ClientFactory,
    node: str,
    client_id: str | None,
    key: Path | None,
    *,
    strict: bool,
    json_output: bool,
) -> Iterator[Client]:
    """A client for one command; turns SDK errors and warnings into CLI output and exit codes."""
    credentials = _credentials(node, client_id, key)
    try:
        client = factory(node, credentials=credentials, strict=strict)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--node'") from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with client:
                yield client
        except ApiError as exc:
            if json_output:
                print(json.dumps(exc.problem, indent=2, ensure_ascii=False))
            print_error(exc)
            raise typer.Exit(1) from exc
        except OpenWerkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from exc
        finally:
            for warning in caught:
                print(f"warning: {warning.message}", file=sys.stderr)


def _check_target(node: str | None, directory: Path | None, operator_key: Path | None) -> None:
    if (node is None) == (directory is None):
        raise typer.BadParameter(
            "give exactly one of --node (one node) or --directory (the federation)",
            param_hint="'--node' / '--directory'",
        )
    if directory is not None and operator_key is None:
        raise typer.BadParameter(
            "--directory needs --operator-key: the directory is only trusted if it verifies "
            "against the pinned operator key",
            param_hint="'--operator-key'",
        )
    if directory is None and operator_key is not None:
        raise typer.BadParameter("--operator-key goes with --directory", param_hint="'--node'")


def _federated_credentials(client_id: str | None, key: Path | None) -> ClientCredentials | None:
    if client_id is None and key is None:
        return None
    if client_id is None or key is None:
        raise typer.BadParameter(
            "--client-id and --key go together: the key signs the assertion for that id",
            param_hint="'--client-id' / '--key'",
        )
    try:
        # The token endpoint is set per node by the federated client.
        return ClientCredentials(client_id, load_private_key(key), "")
    except KeyFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--key'") from exc


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one error line on stderr; the ``Exit(1)`` to raise."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(1)


def _federation(
    factory: FederatedFactory,
    directory_path: Path,
    operator_key: Path,
    client_id: str | None,
    key: Path | None,
    deadline: float,
    call: Callable[[SyncFederatedClient], T],
) -> T:
    """Run ``call`` over the verified directory's providers, with a progress bar on stderr."""
    credentials = _federated_credentials(client_id, key)
    try:
        directory = load_directory(directory_path, load_jwks(operator_key))
    except KeyFileError as exc:
        raise _fail(f"operator key: {exc}") from exc
    except DirectoryError as exc:
        raise _fail(str(exc)) from exc
    providers = len(directory.providers())
    with warnings.catch_warnings(record=True) as caught, node_progress(providers) as tick:
        warnings.simplefilter("always")
        try:
            with factory(
                directory, credentials=credentials, deadline=deadline, on_node_done=tick
            ) as client:
                return call(client)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        except OpenWerkError as exc:
            raise _fail(str(exc)) from exc
        finally:
            for warning in caught:
                print(f"warning: {warning.message}", file=sys.stderr)


def _reference(
    vacancy: str | None, task_offer: str | None, at: str | None
) -> OpportunityReference | None:
    if vacancy is not None and task_offer is not None:
        raise typer.BadParameter("give --vacancy or --task-offer, not both")
    if vacancy is not None:
        return OpportunityReference.vacancy(vacancy, node=at)
    if task_offer is not None:
        return OpportunityReference.task_offer(task_offer, node=at)
    return None


def _read_criteria(path: Path) -> OpportunityCriteria:
    try:
        return OpportunityCriteria.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(
            f"{path} is not an OpportunityCriteria JSON object: {exc}", param_hint="'--criteria'"
        ) from exc


def register_consumer_commands(
    app: typer.Typer,
    factory: ClientFactory,
    federated_factory: FederatedFactory = SyncFederatedClient,
) -> None:
    """Add ``search``, ``match`` and ``introduce`` to ``app``."""

    @app.command()
    def search(
        node: OneNodeOption = None,
        directory: DirectoryOption = None,
        operator_key: OperatorKeyOption = None,
        client_id: ClientIdOption = None,
        key: KeyOption = None,
        deadline: DeadlineOption = 5.0,
        occupation: Annotated[
            str | None, typer.Option(help="ISCO-08 code (prefix) or ESCO occupation URI.")
        ] = None,
        skill: Annotated[str | None, typer.Option(help="ESCO skill URI or label.")] = None,
        region: Annotated[
            str | None, typer.Option("--region", help="Arbeidsmarktregio code, e.g. AM12.")
        ] = None,
        gemeente: Annotated[str | None, typer.Option(help="Gemeente code, e.g. GM0344.")] = None,
        hours_min: Annotated[int | None, typer.Option(min=0, max=60)] = None,
        hours_max: Annotated[int | None, typer.Option(min=0, max=60)] = None,
        available_by: Annotated[
            str | None, typer.Option(help="Available by this date (YYYY-MM-DD).")
        ] = None,
        wanted_kind: Annotated[str | None, typer.Option(help="Opportunity kind wanted.")] = None,
        language: Annotated[str | None, typer.Option(help="ISO 639-1 code, e.g. nl.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="Show at most this many cards.")] = 20,
        json_output: JsonOption = False,
        strict: StrictOption = False,
    ) -> None:
        """Search the pseudonymous candidate cards a node (or the federation) publishes to you."""
        _check_target(node, directory, operator_key)
        given = {
            "occupation": occupation,
            "skill": skill,
            "arbeidsmarktregio": region,
            "gemeente": gemeente,
            "hours_min": hours_min,
            "hours_max": hours_max,
            "available_by": available_by,
            "wanted_kind": wanted_kind,
            "language": language,
            "limit": min(limit, _MAX_PAGE),
        }
        filters = cast(CandidateFilters, {k: v for k, v in given.items() if v is not None})
        if directory is not None and operator_key is not None:
            page = _federation(
                federated_factory,
                directory,
                operator_key,
                client_id,
                key,
                deadline,
                lambda fed: fed.search_candidates(**filters),
            )
            if json_output:
                print_json(page)
            else:
                print_federated_candidates(page)
            return
        assert node is not None
        with _session(
            factory, node, client_id, key, strict=strict, json_output=json_output
        ) as client:
            cards = list(islice(client.search_candidates(**filters), limit))
            if json_output:
                print_json(cards)
            else:
                print_candidates(cards, node)

    @app.command()
    def match(
        node: OneNodeOption = None,
        directory: DirectoryOption = None,
        operator_key: OperatorKeyOption = None,
        client_id: ClientIdOption = None,
        key: KeyOption = None,
        deadline: DeadlineOption = 5.0,
        vacancy: VacancyOption = None,
        task_offer: TaskOfferOption = None,
        at: AtOption = None,
        criteria: Annotated[
            Path | None,
            typer.Option(exists=True, dir_okay=False, help="Inline criteria (JSON file)."),
        ] = None,
        limit: Annotated[int, typer.Option(min=1, max=_MAX_PAGE)] = 20,
        hours_overlap: Annotated[
            bool, typer.Option("--hours-overlap", help="Only overlapping hours.")
        ] = False,
        region: Annotated[
            list[str] | None, typer.Option("--region", help="Only this region (repeatable).")
        ] = None,
        json_output: JsonOption = False,
        strict: StrictOption = False,
    ) -> None:
        """Rank a node's (or the federation's) candidates against an opportunity.

        The opportunity is a vacancy, task offer or inline criteria; over a directory a
        vacancy or task offer needs --at, the member that published it.
        """
        _check_target(node, directory, operator_key)
        opportunity: OpportunityReference | OpportunityCriteria | None = _reference(
            vacancy, task_offer, at
        )
        if (opportunity is None) == (criteria is None):
            raise typer.BadParameter("give exactly one of --vacancy, --task-offer, --criteria")
        if criteria is not None:
            opportunity = _read_criteria(criteria)
        filters: dict[str, Any] = {}
        if hours_overlap:
            filters["hoursOverlap"] = True
        if region:
            filters["arbeidsmarktregios"] = region
        if directory is not None and operator_key is not None:
            federated = _federation(
                federated_factory,
                directory,
                operator_key,
                client_id,
                key,
                deadline,
                lambda fed: fed.match(
                    opportunity=opportunity, limit=limit, filters=filters or None
                ),
            )
            if json_output:
                print_json(federated)
            else:
                print_federated_match(federated)
            return
        assert node is not None
        with _session(
            factory, node, client_id, key, strict=strict, json_output=json_output
        ) as client:
            result = client.match(opportunity=opportunity, limit=limit, filters=filters or None)
            if json_output:
                print_json(result)
            else:
                print_match(result)

    @app.command()
    def introduce(
        node: NodeOption,
        candidate: Annotated[
            str, typer.Option(help="The candidate's pseudonym (from search or match).")
        ],
        contact_name: Annotated[str, typer.Option(help="Your contact person's name.")],
        message: Annotated[str, typer.Option(help="A message for the candidate and jobcoach.")],
        client_id: ClientIdOption = None,
        key: KeyOption = None,
        vacancy: VacancyOption = None,
        task_offer: TaskOfferOption = None,
        at: AtOption = None,
        role: Annotated[str, typer.Option(help="employer or intermediary.")] = "employer",
        contact_email: Annotated[str | None, typer.Option()] = None,
        contact_phone: Annotated[str | None, typer.Option()] = None,
        json_output: JsonOption = False,
        strict: StrictOption = False,
    ) -> None:
        """Ask to meet a candidate about an opportunity; the candidate decides."""
        opportunity = _reference(vacancy, task_offer, at)
        if opportunity is None:
            raise typer.BadParameter("give --vacancy or --task-offer")
        if role not in ("employer", "intermediary"):
            raise typer.BadParameter("must be employer or intermediary", param_hint="'--role'")
        contact = ContactPerson(name=contact_name, email=contact_email, phone=contact_phone)
        with _session(
            factory, node, client_id, key, strict=strict, json_output=json_output
        ) as client:
            intro = client.introduce(
                opportunity=opportunity,
                candidate=candidate,
                requester_role=role,
                contact_person=contact.model_dump(exclude_none=True),
                message=message,
            )
            if json_output:
                print_json(intro)
            else:
                print_introduction(intro)
