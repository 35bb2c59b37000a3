"""``openwerk-conformance``: run the suite against a node, and show what it covers.

Exit codes of ``run``: 0 when no MUST check failed, 1 when one did, 2 for a usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openwerk_conformance.attestation import (
    DEFAULT_VALIDITY_DAYS,
    NotAttestable,
    sign_attestation,
)
from openwerk_conformance.config import ROLES, ClientConfig, ConfigError, RunConfig, load_config
from openwerk_conformance.coverage import compute_coverage
from openwerk_conformance.federation import load_setup, prepare
from openwerk_conformance.oauth import ClientCredentials, load_private_key
from openwerk_conformance.registry import all_checks
from openwerk_conformance.reports import write_reports
from openwerk_conformance.results import CheckResult, RunResult, Status
from openwerk_conformance.runner import RunOptions, run
from openwerk_spec.classes import ConformanceClass

__all__ = ["app", "main"]

app = typer.Typer(
    help="The Open Werk conformance suite: prove that a node follows the standard.",
    no_args_is_help=True,
    add_completion=False,
)

_STYLES = {
    Status.PASS: "green",
    Status.FAIL: "bold red",
    Status.WARN: "yellow",
    Status.SKIP: "dim",
    Status.ERROR: "bold magenta",
}

ClassOption = Annotated[
    list[ConformanceClass] | None,
    typer.Option(
        "--class",
        help="A class to check (repeatable). Default: the classes the node declares.",
        case_sensitive=False,
    ),
]


def _clients(
    config: RunConfig, flags: dict[str, tuple[str | None, Path | None]]
) -> dict[str, ClientCredentials]:
    merged = dict(config.clients)
    for role, (client_id, key_file) in flags.items():
        if client_id is None and key_file is None:
            continue
        base = merged.get(role)
        chosen_id = client_id or (base.client_id if base else None)
        chosen_key = key_file or (base.key_file if base else None)
        if chosen_id is None or chosen_key is None:
            raise ConfigError(f"{role}: give both a client id and a key file")
        merged[role] = ClientConfig(client_id=chosen_id, key_file=chosen_key)
    return {role: client.load(role) for role, client in merged.items()}


def _line(result: CheckResult) -> str:
    style = _STYLES[result.status]
    first = result.message.split("\n", 1)[0]
    reqs = ", ".join(result.requirements)
    return f"[{style}]{result.status.value:5}[/] {result.check_id} [dim]{reqs}[/] {first}"


def _summary(console: Console, result: RunResult) -> None:
    table = Table(title="Open Werk conformance", show_header=True)
    table.add_column("class")
    for status in Status:
        table.add_column(status.value, justify="right", style=_STYLES[status])
    for cls, results in result.by_class().items():
        counts = [sum(1 for r in results if r.status is s) for s in Status]
        table.add_row(cls.value, *(str(c) for c in counts))
    console.print(table)
    if result.passed:
        console.print("[green]PASSED[/]: no MUST requirement failed.")
    else:
        console.print(f"[bold red]FAILED[/]: {len(result.must_failures)} MUST checks failed.")
    if result.errors:
        console.print(
            f"[bold magenta]{len(result.errors)} suite errors[/]: these checks proved nothing; "
            "please report them to the suite's maintainers."
        )


@app.command("run")
def run_command(
    base_url: Annotated[
        str | None, typer.Argument(help="The node's base URL, ending in /v1.")
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="A conformance.toml (see docs).")
    ] = None,
    classes: ClassOption = None,
    preloaded: Annotated[
        bool,
        typer.Option(help="The fixture dataset is already loaded; find it by externalReference."),
    ] = False,
    report_dir: Annotated[
        Path | None, typer.Option(help="Write report.json, junit.xml and report.html here.")
    ] = None,
    schemathesis_examples: Annotated[
        int, typer.Option(help="Generated requests per operation (0 skips the phase).", min=0)
    ] = 10,
    token_endpoint: Annotated[
        str | None, typer.Option(help="Default: the landing page's tokenEndpoint.")
    ] = None,
    publisher_id: Annotated[str | None, typer.Option(help="Publisher client id.")] = None,
    publisher_key: Annotated[Path | None, typer.Option(help="Publisher private JWK file.")] = None,
    consumer_a_id: Annotated[str | None, typer.Option(help="Consumer A client id.")] = None,
    consumer_a_key: Annotated[Path | None, typer.Option(help="Consumer A private JWK.")] = None,
    consumer_b_id: Annotated[str | None, typer.Option(help="Consumer B client id.")] = None,
    consumer_b_key: Annotated[Path | None, typer.Option(help="Consumer B private JWK.")] = None,
    attestation_key: Annotated[
        Path | None, typer.Option(help="Sign an attestation of a passing run with this JWK.")
    ] = None,
    attestation_days: Annotated[
        int, typer.Option(help="How long the attestation holds.", min=1)
    ] = DEFAULT_VALIDITY_DAYS,
    timeout: Annotated[float, typer.Option(help="HTTP timeout in seconds.")] = 30.0,
    federation: Annotated[
        Path | None,
        typer.Option(help="A DIR from 'federation prepare': serve its providers (gateways)."),
    ] = None,
) -> None:
    """Run the suite against the node at BASE_URL."""
    console = Console(stderr=True)
    try:
        config = load_config(config_file) if config_file else RunConfig()
        url = base_url or config.base_url
        if not url:
            raise ConfigError("give BASE_URL or a --config with base_url")
        credentials = _clients(
            config,
            {
                "publisher": (publisher_id, publisher_key),
                "consumer-a": (consumer_a_id, consumer_a_key),
                "consumer-b": (consumer_b_id, consumer_b_key),
            },
        )
        signing_key = load_private_key(attestation_key) if attestation_key else None
        if federation is not None:
            load_setup(federation)
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    missing = [role for role in ROLES if role not in credentials]
    if missing:
        console.print(f"[yellow]no credentials for {', '.join(missing)}: their checks skip[/]")
    options = RunOptions(
        base_url=url,
        credentials=credentials,
        token_endpoint=token_endpoint or config.token_endpoint,
        classes=list(classes or []),
        preloaded=preloaded,
        schemathesis_examples=schemathesis_examples,
        timeout=timeout,
        federation_dir=federation,
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"checking {url}", total=None)

        def plan(total: int) -> None:
            progress.update(task, total=total)

        def report(result: CheckResult) -> None:
            progress.advance(task)
            progress.update(task, description=f"{result.check_id}")
            if result.status is not Status.PASS:
                progress.console.print(_line(result))

        result = run(options, on_result=report, on_plan=plan)
    _summary(console, result)
    if report_dir is not None:
        for kind, path in write_reports(result, report_dir).items():
            console.print(f"{kind} report: {path}")
    if signing_key is not None:
        try:
            token = sign_attestation(result, signing_key, validity_days=attestation_days)
        except NotAttestable as exc:
            console.print(f"[yellow]no attestation:[/] {exc}")
        else:
            target = (report_dir or Path()) / "attestation.jwt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(token + "\n", encoding="utf-8")
            console.print(f"attestation: {target}")
    raise typer.Exit(0 if result.passed else 1)


@app.command("coverage")
def coverage_command(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the checks per requirement.")
    ] = False,
) -> None:
    """Which MUST requirements have at least one check."""
    console = Console()
    cov = compute_coverage()
    testable = cov.testable_must
    console.print(
        f"testable MUST requirements with a check: {len(testable) - len(cov.uncovered_testable)}"
        f" of {len(testable)} ({cov.percentage():.1f} %)"
    )
    console.print(
        f"all MUST requirements with a check: {len(cov.covered)} of {len(cov.must)}"
        f" ({cov.percentage(testable_only=False):.1f} %)"
    )
    if verbose:
        for req in cov.covered:
            console.print(f"  [green]{req.id}[/] ← {', '.join(cov.cited_by[req.id])}")
    if cov.uncovered_testable:
        console.print("\n[bold]testable MUST requirements without a check:[/]")
        for req in cov.uncovered_testable:
            console.print(f"  {req.id} [dim]({req.conformance_class.value})[/] {req.statement}")
    if cov.untestable:
        console.print("\n[bold]MUST requirements not testable over HTTP[/] (verified otherwise):")
        for req in cov.untestable:
            console.print(f"  {req.id} [dim]{req.verification or ''}[/]")
    if cov.unknown:
        console.print(f"\n[red]checks cite unknown requirement ids:[/] {', '.join(cov.unknown)}")
        raise typer.Exit(1)


@app.command("checks")
def checks_command() -> None:
    """List every check: id, class, level, requirements."""
    console = Console()
    table = Table(show_header=True)
    for column in ("id", "class", "level", "requirements", "title"):
        table.add_column(column)
    for check in all_checks():
        table.add_row(
            check.id,
            check.conformance_class.value,
            check.level,
            ", ".join(check.requirements),
            check.title,
        )
    console.print(table)


federation_app = typer.Typer(
    help="The suite as a federation, for testing a gateway (spec/docs/federation.md).",
    no_args_is_help=True,
)
app.add_typer(federation_app, name="federation")


@federation_app.command("prepare")
def federation_prepare_command(
    directory: Annotated[Path, typer.Argument(help="Where to write the setup (created).")],
    gateway_url: Annotated[
        str, typer.Option(help="The gateway's base URL, ending in /v1, as it will serve.")
    ],
    gateway_id: Annotated[
        str, typer.Option(help="The gateway's member id in the directory.")
    ] = "conformance-gateway",
) -> None:
    """Write an operator key, a signed directory and the gateway's key to DIRECTORY."""
    setup = prepare(directory, gateway_url, gateway_id=gateway_id)
    typer.echo((setup.root / "README.txt").read_text(encoding="utf-8"))


def main() -> None:
    """Console-script entry point."""
    app()
