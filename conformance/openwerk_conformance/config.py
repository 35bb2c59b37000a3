"""The run configuration file (``conformance.toml``), as ``openwerk sandbox DIR`` writes it.

::

    base_url = "http://127.0.0.1:8000/v1"
    token_endpoint = "http://127.0.0.1:8000/v1/oauth/token"   # optional

    [clients.publisher]
    client_id = "gemeente-utrecht-publisher"
    key_file = "keys/publisher.jwk.json"     # relative to this file's directory

    [clients.consumer-a]
    ...

Command-line flags override the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openwerk_conformance.oauth import ClientCredentials, load_private_key

__all__ = ["OPTIONAL_ROLES", "ROLES", "ClientConfig", "ConfigError", "RunConfig", "load_config"]

#: The identities a full run acts as.
ROLES: tuple[str, ...] = ("publisher", "consumer-a", "consumer-b")
#: Identities a run can use when given; without them their checks skip with a reason.
OPTIONAL_ROLES: tuple[str, ...] = ("gateway",)


class ConfigError(ValueError):
    """The configuration file or flags are unusable."""


@dataclass(frozen=True)
class ClientConfig:
    """A client id and the file holding its private JWK."""

    client_id: str
    key_file: Path

    def load(self, role: str) -> ClientCredentials:
        """The credentials, with the key read from disk."""
        try:
            key = load_private_key(self.key_file)
        except ValueError as exc:
            raise ConfigError(f"{role}: {exc}") from exc
        return ClientCredentials(role=role, client_id=self.client_id, key=key)


@dataclass(frozen=True)
class RunConfig:
    """What the configuration file says."""

    base_url: str | None = None
    token_endpoint: str | None = None
    clients: dict[str, ClientConfig] = field(default_factory=dict)


def _text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def load_config(path: Path) -> RunConfig:
    """Parse a ``conformance.toml``; key files are resolved against its directory."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    clients_table = document.get("clients", {})
    if not isinstance(clients_table, dict):
        raise ConfigError(f"{path}: [clients] must be a table")
    clients: dict[str, ClientConfig] = {}
    for role, table in clients_table.items():
        where = f"{path} [clients.{role}]"
        if role not in (*ROLES, *OPTIONAL_ROLES):
            known = ", ".join((*ROLES, *OPTIONAL_ROLES))
            raise ConfigError(f"{where}: unknown client role (expected one of {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        client_id = _text(table, "client_id", where)
        key_file = _text(table, "key_file", where)
        if client_id is None or key_file is None:
            raise ConfigError(f"{where}: needs client_id and key_file")
        key_path = Path(key_file)
        if not key_path.is_absolute():
            key_path = path.parent / key_path
        clients[role] = ClientConfig(client_id=client_id, key_file=key_path)
    return RunConfig(
        base_url=_text(document, "base_url", str(path)),
        token_endpoint=_text(document, "token_endpoint", str(path)),
        clients=clients,
    )
