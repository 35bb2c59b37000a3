"""Ready-to-run federations on one machine: keys, a signed directory, node and suite configs.

``openwerk sandbox DIR`` (one node and the three identities the conformance suite needs) and
``openwerk demo`` (three nodes, a gateway and a platform) both build on ``write_federation``,
so the files a newcomer starts from are the same files the tests run against.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openwerk.directory import Directory, Member, sign_directory
from openwerk.keys import generate_signing_key, jwks, save_jwks, save_private_key

__all__ = [
    "ClientSpec",
    "FederationFiles",
    "NodeSpec",
    "SandboxFiles",
    "write_federation",
    "write_sandbox",
]

DIRECTORY_VALIDITY_DAYS = 30


@dataclass(frozen=True)
class NodeSpec:
    """A node (provider or gateway) of a local federation."""

    id: str
    name: str
    organisation_type: str
    organisation_name: str
    port: int
    arbeidsmarktregios: tuple[str, ...]
    gemeenten: tuple[str, ...] = ()
    mode: str = "node"
    host: str = "127.0.0.1"
    #: Accept http:// loopback webhook URLs (a test bed: the suite's receiver listens there).
    allow_loopback_webhooks: bool = False

    @property
    def base_url(self) -> str:
        """Where the node serves ``/v1``."""
        return f"http://{self.host}:{self.port}/v1"


@dataclass(frozen=True)
class ClientSpec:
    """A member that only calls nodes: a publisher (custodian system) or a consumer."""

    id: str
    name: str
    organisation_type: str
    roles: tuple[str, ...]
    publishes_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class FederationFiles:
    """Paths written by ``write_federation``."""

    root: Path
    directory: Path
    operator_public_keys: Path
    keys: dict[str, Path] = field(default_factory=dict)
    node_configs: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxFiles:
    """Paths written by ``write_sandbox``."""

    federation: FederationFiles
    node_config: Path
    conformance_config: Path
    base_url: str


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def _node_toml(node: NodeSpec, files: FederationFiles, database: Path) -> str:
    lines = [
        "# Open Werk node configuration, written by `openwerk sandbox`/`openwerk demo`.",
        "# Run it with: openwerk serve --config <this file>",
        f"node_id = {_toml_string(node.id)}",
        f"node_name = {_toml_string(node.name)}",
        f"organisation_type = {_toml_string(node.organisation_type)}",
        f"organisation_name = {_toml_string(node.organisation_name)}",
        f"arbeidsmarktregios = {_toml_list(node.arbeidsmarktregios)}",
        f"gemeenten = {_toml_list(node.gemeenten)}",
        f"mode = {_toml_string(node.mode)}",
        f"base_url = {_toml_string(node.base_url)}",
        f"database_url = {_toml_string('sqlite:///' + str(database))}",
        f"pseudonym_secret = {_toml_string(secrets.token_urlsafe(32))}",
        f"node_key_path = {_toml_string(str(files.keys[node.id]))}",
        f"directory_path = {_toml_string(str(files.directory))}",
        f"operator_key_path = {_toml_string(str(files.operator_public_keys))}",
    ]
    if node.allow_loopback_webhooks:
        lines.append("webhook_allow_loopback = true")
    return "\n".join(lines) + "\n"


def write_federation(
    root: Path,
    *,
    operator: str,
    nodes: Sequence[NodeSpec],
    clients: Sequence[ClientSpec],
    validity_days: int = DIRECTORY_VALIDITY_DAYS,
) -> FederationFiles:
    """Generate every member's key, sign the directory and write one ``<node>.toml`` per node.

    Private keys go to ``root/keys/<id>.jwk.json`` (mode 0600); the operator's public key —
    the key every node and client pins — to ``root/operator.jwks.json``.
    """
    root = root.resolve()  # configs must work from any working directory
    root.mkdir(parents=True, exist_ok=True)
    keys_dir = root / "keys"
    keys_dir.mkdir(exist_ok=True)
    operator_key = generate_signing_key()
    save_private_key(operator_key, keys_dir / "operator.jwk.json", overwrite=True)
    operator_public = save_jwks([operator_key], root / "operator.jwks.json", overwrite=True)

    members: list[Member] = []
    key_paths: dict[str, Path] = {}
    for node in nodes:
        key = generate_signing_key()
        key_paths[node.id] = save_private_key(key, keys_dir / f"{node.id}.jwk.json", overwrite=True)
        roles = ("gateway",) if node.mode == "gateway" else ("provider",)
        members.append(
            Member(
                id=node.id,
                name=node.name,
                organisation_type=node.organisation_type,
                base_url=node.base_url,
                roles=roles,
                regions=node.arbeidsmarktregios or None,
                jwks=jwks([key]),
            )
        )
    for client in clients:
        key = generate_signing_key()
        key_paths[client.id] = save_private_key(
            key, keys_dir / f"{client.id}.jwk.json", overwrite=True
        )
        members.append(
            Member(
                id=client.id,
                name=client.name,
                organisation_type=client.organisation_type,
                roles=client.roles,
                publishes_to=client.publishes_to or None,
                jwks=jwks([key]),
            )
        )
    now = int(time.time())
    directory = Directory(
        iss=operator, iat=now, exp=now + validity_days * 86_400, members=tuple(members)
    )
    directory_path = root / "directory.jws"
    directory_path.write_text(sign_directory(directory, operator_key) + "\n", encoding="utf-8")

    files = FederationFiles(
        root=root,
        directory=directory_path,
        operator_public_keys=operator_public,
        keys=key_paths,
    )
    for node in nodes:
        config = root / f"{node.id}.toml"
        files.node_configs[node.id] = config
        config.write_text(_node_toml(node, files, root / f"{node.id}.db"), encoding="utf-8")
    return files


def write_sandbox(root: Path, *, host: str = "127.0.0.1", port: int = 8000) -> SandboxFiles:
    """One node with a publisher, two consumers and a gateway: what ``openwerk-conformance`` needs.

    The consumers' organisation types (a platform and an employer) are the ones the
    conformance dataset's consents name, so scoped consents show their effect.
    """
    node = NodeSpec(
        id="sandbox-node",
        name="Open Werk sandbox node",
        organisation_type="werkbedrijf",
        organisation_name="Werkbedrijf Sandbox",
        port=port,
        host=host,
        arbeidsmarktregios=("AM13",),
        allow_loopback_webhooks=True,
    )
    clients = [
        ClientSpec(
            "publisher", "Sandbox custodian system", "werkbedrijf", ("publisher",), (node.id,)
        ),
        ClientSpec("consumer-a", "Matching platform A", "platform", ("consumer",)),
        ClientSpec("consumer-b", "Werkgever B", "werkgever", ("consumer",)),
        # A gateway identity of a gemeente, so the suite can show that a node admits gateways
        # only under any-member consents (OW-FED-014), even where the type would match.
        ClientSpec("gateway", "Regional gateway (suite identity)", "gemeente", ("gateway",)),
    ]
    files = write_federation(root, operator="sandbox-operator", nodes=[node], clients=clients)
    node_config = root / "node.toml"
    files.node_configs[node.id].replace(node_config)
    files.node_configs[node.id] = node_config
    conformance = root / "conformance.toml"
    lines = [
        "# Credentials for `openwerk-conformance run --config` against the sandbox node.",
        f"base_url = {_toml_string(node.base_url)}",
    ]
    for client in clients:
        lines += [
            "",
            f"[clients.{client.id}]",
            f"client_id = {_toml_string(client.id)}",
            f"key_file = {_toml_string(str(files.keys[client.id]))}",
        ]
    conformance.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return SandboxFiles(
        federation=files,
        node_config=node_config,
        conformance_config=conformance,
        base_url=node.base_url,
    )
