"""``openwerk demo``: a local federation on loopback, and a story run against it with the SDK.

What it builds (``make demo`` runs this):

- a signed directory (operator ``werkbedrijf-midden-utrecht``) with three provider nodes in
  arbeidsmarktregio Midden-Utrecht (AM13) — Gemeente Utrecht, UWV and a social enterprise —
  a regional gateway, a publisher (custodian system) per node and a matching platform;
- one SQLite file per node, seeded with its own synthetic pool (different seeds, same
  region, so matching across them is meaningful);
- the four servers (uvicorn, one thread each) on ``127.0.0.1:<base-port>..+3``.

Then the story (``demo_story``): a federated match for a vacancy of the gemeente, an
introduction request for the best card, the custodian's acceptance through the publication
API, and the platform reading the revealed name and contact. Without ``--once`` the
federation keeps running until Ctrl-C, so the nodes can be explored with the CLI or curl.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console

from openwerk_server.sandbox import ClientSpec, FederationFiles, NodeSpec, write_federation

__all__ = [
    "DEMO_CLIENTS",
    "DEMO_NODES",
    "DemoError",
    "DemoFederation",
    "run_demo",
    "start_federation",
]

OPERATOR = "werkbedrijf-midden-utrecht"
REGION = "AM13"
PLATFORM = "platform-werkmatch"
LOOPBACK = "127.0.0.1"


class DemoError(RuntimeError):
    """The demo could not be set up (a port in use, a node that does not start)."""


@dataclass(frozen=True)
class DemoNode:
    """A node of the demo and how to seed it."""

    id: str
    name: str
    organisation_type: str
    organisation_name: str
    gemeenten: tuple[str, ...]
    publisher: str
    publisher_name: str
    seed: int
    opportunities: int
    mode: str = "node"


DEMO_NODES: tuple[DemoNode, ...] = (
    DemoNode(
        "gemeente-utrecht",
        "Gemeente Utrecht — Werk en Inkomen",
        "gemeente",
        "Gemeente Utrecht",
        ("GM0344",),
        "gemeente-utrecht-klantsysteem",
        "Gemeente Utrecht — klantvolgsysteem",
        seed=344,
        opportunities=60,
    ),
    DemoNode(
        "uwv-midden-utrecht",
        "UWV Werkbedrijf Midden-Utrecht",
        "uwv",
        "UWV",
        (),
        "uwv-midden-utrecht-systeem",
        "UWV — werkzoekendenregistratie",
        seed=1302,
        opportunities=40,
    ),
    DemoNode(
        "sociale-onderneming-utrecht",
        "De Werkplaats Utrecht (sociale onderneming)",
        "sociale-onderneming",
        "De Werkplaats Utrecht B.V.",
        (),
        "de-werkplaats-systeem",
        "De Werkplaats — deelnemersadministratie",
        seed=7,
        opportunities=30,
    ),
)
GATEWAY = DemoNode(
    "gateway-midden-utrecht",
    "Open Werk gateway Midden-Utrecht",
    "werkbedrijf",
    "Werkbedrijf Midden-Utrecht",
    (),
    "",
    "",
    seed=0,
    opportunities=0,
    mode="gateway",
)
DEMO_CLIENTS: tuple[ClientSpec, ...] = (
    *(
        ClientSpec(n.publisher, n.publisher_name, n.organisation_type, ("publisher",), (n.id,))
        for n in DEMO_NODES
    ),
    ClientSpec(PLATFORM, "WerkMatch — matching platform", "platform", ("consumer",)),
)


@dataclass
class DemoFederation:
    """A running demo federation: its files and the URL of each node."""

    root: Path
    files: FederationFiles
    urls: dict[str, str] = field(default_factory=dict)
    seeded: dict[str, dict[str, int]] = field(default_factory=dict)

    def key_of(self, member: str) -> Path:
        """The private key file of a member."""
        return self.files.keys[member]

    @property
    def gateway_url(self) -> str:
        """The regional gateway's API root."""
        return self.urls[GATEWAY.id]


def _specs(base_port: int) -> list[NodeSpec]:
    return [
        NodeSpec(
            id=node.id,
            name=node.name,
            organisation_type=node.organisation_type,
            organisation_name=node.organisation_name,
            port=base_port + index,
            arbeidsmarktregios=(REGION,),
            gemeenten=node.gemeenten,
            mode=node.mode,
            host=LOOPBACK,
        )
        for index, node in enumerate((*DEMO_NODES, GATEWAY))
    ]


def _seed(federation: DemoFederation, candidates: int, console: Console) -> None:
    from openwerk_server.seed import SeedPlan, seed_store
    from openwerk_server.storage import Store

    members = [PLATFORM, *(n.id for n in DEMO_NODES)]
    for node in DEMO_NODES:
        store = Store.from_url(f"sqlite:///{federation.root / f'{node.id}.db'}")
        try:
            store.migrate()
            report = seed_store(
                store,
                SeedPlan(
                    node_id=node.id,
                    candidates=candidates,
                    opportunities=node.opportunities,
                    seed=node.seed,
                    arbeidsmarktregio=REGION if not node.gemeenten else None,
                    gemeenten=node.gemeenten,
                    members=members,
                ),
            )
        finally:
            store.dispose()
        federation.seeded[node.id] = {
            "candidates": report.candidates,
            "vacancies": report.vacancies,
            "taskOffers": report.task_offers,
        }
        console.print(
            f"  seeded [bold]{node.id}[/]: {report.candidates} candidates, "
            f"{report.vacancies} vacancies, {report.task_offers} task offers "
            f"({report.seconds:.1f} s)"
        )


@contextmanager
def start_federation(
    root: Path,
    *,
    base_port: int,
    candidates: int,
    console: Console,
) -> Iterator[DemoFederation]:
    """Write, seed and start the demo federation in ``root``; stops it on exit."""
    from openwerk.directory import DirectoryError
    from openwerk.keys import KeyFileError
    from openwerk_server.app import create_app
    from openwerk_server.auth.wiring import AuthConfigurationError
    from openwerk_server.demo_servers import (
        BackgroundServer,
        ServerStartError,
        reserve_port,
        stop_all,
        wait_healthy,
    )
    from openwerk_server.settings import NodeSettings

    specs = _specs(base_port)
    sockets = []
    try:
        for spec in specs:
            try:
                sockets.append(reserve_port(LOOPBACK, spec.port))
            except OSError as exc:
                raise DemoError(
                    f"port {spec.port} on {LOOPBACK} is in use ({exc.strerror}); "
                    f"pass --base-port to use other ports"
                ) from exc
        for stale in root.glob("*.db*"):
            stale.unlink()
        files = write_federation(root, operator=OPERATOR, nodes=specs, clients=DEMO_CLIENTS)
        federation = DemoFederation(root=root, files=files)
        console.print(f"Federation written to [bold]{root}[/] (directory signed by {OPERATOR})")
        _seed(federation, candidates, console)
        servers: list[BackgroundServer] = []
        with ExitStack() as stack:
            stack.callback(stop_all, servers)
            for spec, sock in zip(specs, sockets, strict=True):
                try:
                    # The file's values as arguments: they win over OPENWERK_* variables of
                    # the shell, so a stray OPENWERK_DATABASE_URL cannot merge the pools.
                    config = tomllib.loads(files.node_configs[spec.id].read_text("utf-8"))
                    settings = NodeSettings(**config)
                    app = create_app(settings)
                except (AuthConfigurationError, DirectoryError, KeyFileError, ValueError) as exc:
                    raise DemoError(f"node {spec.id} refused its configuration: {exc}") from exc
                server = BackgroundServer(app, sock, name=f"openwerk-demo-{spec.id}")
                servers.append(server)
                try:
                    server.start()
                except ServerStartError as exc:
                    raise DemoError(str(exc)) from exc
                federation.urls[spec.id] = spec.base_url
            for spec in specs:
                try:
                    wait_healthy(spec.base_url)
                except ServerStartError as exc:
                    raise DemoError(str(exc)) from exc
            yield federation
    finally:
        for sock in sockets:
            sock.close()


def _wait_for_interrupt(console: Console, root: Path, urls: Sequence[tuple[str, str]]) -> None:
    console.print()
    console.print("[bold]The federation keeps running[/] — explore it:")
    for node, url in urls:
        console.print(f"  {node:<30} {url}")
    console.print(f"  e.g.  curl {urls[0][1]}/vacancies?limit=2", soft_wrap=True)
    console.print(
        f"        openwerk directory verify {root / 'directory.jws'} "
        f"--operator-key {root / 'operator.jwks.json'}",
        soft_wrap=True,
    )
    console.print("Press [bold]Ctrl-C[/] to stop.")
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, _stop)
    previous_term = signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    console.print("Stopping the federation …")


def run_demo(
    *,
    once: bool = False,
    base_port: int = 8701,
    candidates: int = 400,
    data_dir: Path | None = None,
    console: Console | None = None,
) -> int:
    """Run the demo; the exit code (0: every step of the story worked)."""
    from openwerk_server.demo_story import run_story

    out = console or Console(highlight=False)
    if console is None and not out.is_terminal:
        out = Console(highlight=False, width=120)  # logs and pipes: wide enough for the tables
    keep = data_dir is not None
    root = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="openwerk-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    out.rule("[bold]Open Werk demo[/] — a federation without a central database")
    try:
        with start_federation(
            root, base_port=base_port, candidates=candidates, console=out
        ) as federation:
            ok = run_story(federation, out)
            if not once:
                _wait_for_interrupt(out, root, list(federation.urls.items()))
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    if once:
        return 0 if ok else 1
    return 0
