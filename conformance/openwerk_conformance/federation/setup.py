"""``openwerk-conformance federation prepare DIR``: the suite's side of the gateway contract.

A gateway cannot be tested against a real federation: the suite must know exactly what each
provider holds, and it needs a provider that hangs and one that is down. So the suite acts as
the federation operator (spec/docs/federation.md, "Conformance testing of a gateway"): it
makes an operator key, keys for its own providers and for the gateway under test, and signs a
directory naming them. The vendor points the gateway at that directory (OW-FED-003); the run
then starts the providers on the loopback ports the directory names.

Everything here is the suite's own code on joserfc (it must not import the SDK, which would
test the SDK's directory code against itself).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from joserfc import jws
from joserfc.jwk import ECKey

from openwerk_conformance.oauth import ClientCredentials, load_private_key

__all__ = [
    "CONSUMER",
    "CONSUMER_ROLE",
    "DEADLINE_SECONDS",
    "DIRECTORY_TYPE",
    "DOWN",
    "HUNG",
    "OK_PROVIDERS",
    "PROVIDERS",
    "FederationSetup",
    "load_setup",
    "prepare",
    "sign_directory",
]

#: The ``typ`` of a directory JWS (spec/docs/federation.md, "The directory").
DIRECTORY_TYPE: Final = "openwerk-directory+jws"
#: The deadline the contract asks the gateway to be configured with, in seconds.
DEADLINE_SECONDS: Final = 2.0
#: The suite's providers: two that answer, one that hangs, one whose port nothing listens on.
OK_PROVIDERS: Final = ("conformance-provider-a", "conformance-provider-b")
HUNG: Final = "conformance-provider-hung"
DOWN: Final = "conformance-provider-down"
PROVIDERS: Final = (*OK_PROVIDERS, HUNG, DOWN)
OPERATOR: Final = "openwerk-conformance"
#: The consumer the suite asks the gateway as, and its role name in the run.
CONSUMER: Final = "conformance-consumer"
CONSUMER_ROLE: Final = "federation-consumer"
#: The file the suite reads back at run time (ports, ids); not for the vendor.
SETUP_FILE: Final = "federation.json"


@dataclass(frozen=True)
class FederationSetup:
    """What ``prepare`` wrote, read back by ``run --federation DIR``."""

    root: Path
    gateway_id: str
    gateway_url: str
    ports: dict[str, int]
    deadline: float
    iss: str
    iat: int
    exp: int
    #: Member id → its public JWK (the providers verify the gateway's assertions with these).
    public_keys: dict[str, dict[str, Any]]

    def provider_url(self, node_id: str) -> str:
        """The ``baseUrl`` of one of the suite's providers."""
        return f"http://127.0.0.1:{self.ports[node_id]}/v1"

    def consumer(self) -> ClientCredentials:
        """The consumer identity the suite calls the gateway's L2 operations with."""
        key = load_private_key(self.root / "keys" / f"{CONSUMER}.jwk.json")
        return ClientCredentials(CONSUMER_ROLE, CONSUMER, key)

    @property
    def operator_key(self) -> ECKey:
        """The operator's private key (for the suite's own tampered or expired variants)."""
        return ECKey.import_key(_read_json(self.root / "keys" / "operator.jwk.json"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _new_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


def _public(key: ECKey) -> dict[str, Any]:
    jwk: dict[str, Any] = key.as_dict(private=False)
    jwk.update({"kid": key.kid, "use": "sig", "alg": "ES256"})
    return jwk


def _write_private(key: ECKey, path: Path) -> None:
    """A private JWK file, created owner-only (never world-readable, not even briefly)."""
    data: dict[str, Any] = key.as_dict(private=True)
    data["kid"] = key.kid
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sign_directory(payload: dict[str, Any], key: ECKey) -> str:
    """A directory JWS: compact, ES256, ``typ`` ``openwerk-directory+jws``, the key's ``kid``."""
    header = {"alg": "ES256", "typ": DIRECTORY_TYPE, "kid": key.kid}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, body, key)


def _member(
    node_id: str, name: str, org: str, roles: list[str], key: ECKey, url: str | None
) -> dict[str, Any]:
    member: dict[str, Any] = {"id": node_id, "name": name, "organisationType": org}
    if url is not None:
        member["baseUrl"] = url
    member.update({"roles": roles, "regions": ["AM13"], "jwks": {"keys": [_public(key)]}})
    return member


def _note(setup: FederationSetup) -> str:
    root = setup.root
    return f"""Open Werk conformance: federation setup for gateway {setup.gateway_id}
(spec/docs/federation.md, "Conformance testing of a gateway")

Configure the gateway under test with:
  its member id          {setup.gateway_id}
  its base URL           {setup.gateway_url}
  the directory          {root / "directory.jws"}
  pinned operator key    {root / "operator.jwks.json"}
  its signing key        {root / "gateway.jwk.json"}
  fan-out deadline       {setup.deadline:g} seconds

For the reference server, that is (node.toml):
  mode = "gateway"
  node_id = "{setup.gateway_id}"
  base_url = "{setup.gateway_url}"
  directory_path = "{root / "directory.jws"}"
  operator_key_path = "{root / "operator.jwks.json"}"
  node_key_path = "{root / "gateway.jwk.json"}"
  gateway_deadline_seconds = {setup.deadline:g}

Then run:
  openwerk-conformance run {setup.gateway_url} --federation {root}

The suite starts its providers on 127.0.0.1 ports
{", ".join(f"{n}={p}" for n, p in setup.ports.items())}
(the last one deliberately unserved). The directory expires at {setup.exp} (Unix time):
prepare again after that.
"""


def prepare(
    root: Path,
    gateway_url: str,
    *,
    gateway_id: str = "conformance-gateway",
    validity_seconds: int = 7 * 86_400,
    ports: dict[str, int] | None = None,
    deadline: float = DEADLINE_SECONDS,
) -> FederationSetup:
    """Write the operator key, keys, signed directory and config note to ``root``.

    ``deadline`` is the fan-out deadline the gateway is to be configured with; the contract's
    value is :data:`DEADLINE_SECONDS` (tests use less, to stay fast).
    """
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "keys").mkdir(exist_ok=True)
    chosen = dict(ports) if ports else {}
    for node_id in PROVIDERS:
        chosen.setdefault(node_id, _free_port())
    operator = _new_key()
    _write_private(operator, root / "keys" / "operator.jwk.json")
    (root / "operator.jwks.json").write_text(
        json.dumps({"keys": [_public(operator)]}, indent=2) + "\n", encoding="utf-8"
    )
    gateway_key = _new_key()
    _write_private(gateway_key, root / "gateway.jwk.json")
    members = [
        _member(
            gateway_id,
            "Gateway under conformance test",
            "werkbedrijf",
            ["gateway"],
            gateway_key,
            gateway_url.rstrip("/"),
        )
    ]
    public_keys = {gateway_id: _public(gateway_key)}
    for node_id in PROVIDERS:
        key = _new_key()  # public only: the suite's providers sign nothing
        url = f"http://127.0.0.1:{chosen[node_id]}/v1"
        members.append(
            _member(node_id, f"Conformance {node_id}", "gemeente", ["provider"], key, url)
        )
        public_keys[node_id] = _public(key)
    consumer_key = _new_key()
    _write_private(consumer_key, root / "keys" / f"{CONSUMER}.jwk.json")
    members.append(
        _member(CONSUMER, "Conformance consumer", "platform", ["consumer"], consumer_key, None)
    )
    now = int(time.time())
    payload = {"iss": OPERATOR, "iat": now, "exp": now + validity_seconds, "members": members}
    (root / "directory.jws").write_text(sign_directory(payload, operator) + "\n", "utf-8")
    setup = FederationSetup(
        root=root,
        gateway_id=gateway_id,
        gateway_url=gateway_url.rstrip("/"),
        ports=chosen,
        deadline=deadline,
        iss=OPERATOR,
        iat=now,
        exp=now + validity_seconds,
        public_keys=public_keys,
    )
    record = {
        "gatewayId": gateway_id,
        "gatewayUrl": setup.gateway_url,
        "ports": chosen,
        "deadline": deadline,
        "iss": OPERATOR,
        "iat": now,
        "exp": setup.exp,
        "publicKeys": public_keys,
    }
    (root / SETUP_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (root / "README.txt").write_text(_note(setup), encoding="utf-8")
    return setup


def load_setup(root: Path) -> FederationSetup:
    """What ``prepare`` wrote to ``root``; ``ValueError`` when it is not such a directory."""
    root = root.resolve()
    try:
        record = _read_json(root / SETUP_FILE)
        return FederationSetup(
            root=root,
            gateway_id=str(record["gatewayId"]),
            gateway_url=str(record["gatewayUrl"]),
            ports={str(k): int(v) for k, v in record["ports"].items()},
            deadline=float(record["deadline"]),
            iss=str(record["iss"]),
            iat=int(record["iat"]),
            exp=int(record["exp"]),
            public_keys=dict(record["publicKeys"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{root}: not a directory written by 'openwerk-conformance federation prepare' ({exc})"
        ) from exc
