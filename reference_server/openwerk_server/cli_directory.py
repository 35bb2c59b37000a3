"""``openwerk keys`` and ``openwerk directory``: the federation operator's tools.

``keys generate`` makes an EC P-256 signing key (JWK, mode 0600) for a node, a client or the
operator. ``directory sign`` turns a members file into the signed directory every node and
SDK verifies; ``directory verify`` checks one the way they do (OW-FED-002) and shows it.

A members file is JSON: ``{"iss": "...", "members": [...]}`` or just the list. Each member is
a directory entry (camelCase, spec schema ``Directory.members[]``) whose keys are given
either inline as ``jwks`` or as ``keyFile``: a JWK or JWKS file (relative paths are relative
to the members file). Only public key material is ever written into the directory.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from openwerk_server.cli_support import fail, stdout

__all__ = ["register_directory_commands"]

#: OW-FED-012: operators SHOULD set exp at most 7 days after iat.
RECOMMENDED_MAX_DAYS = 7


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{what} {path} does not exist")
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{what} {path} is not JSON: {exc}")


def _member_keys(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    from openwerk.keys import KeyFileError, jwks

    member = str(entry.get("id", "?"))
    key_file = entry.pop("keyFile", None)
    if key_file is None:
        raw = entry.get("jwks")
        if not isinstance(raw, dict):
            fail(f"member {member!r} needs 'jwks' (a JWKS object) or 'keyFile' (a JWK file)")
        keys = raw.get("keys")
    else:
        path = Path(str(key_file))
        data = _read_json(path if path.is_absolute() else base / path, f"key file of {member!r}")
        keys = data.get("keys", [data]) if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        fail(f"member {member!r}: its keys must be a non-empty JWKS")
    try:
        # The public part of each key, whatever was given: a directory never holds 'd'.
        return jwks(keys)
    except (KeyFileError, ValueError, TypeError) as exc:
        fail(f"member {member!r}: unusable key: {exc}")


def _members(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    data = _read_json(path, "members file")
    issuer: str | None = None
    if isinstance(data, dict):
        issuer = data.get("iss") if isinstance(data.get("iss"), str) else None
        data = data.get("members")
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        fail(f"members file {path} must hold a list of members, or {{'members': [...]}}")
    members = [dict(m) for m in data]
    for member in members:
        member["jwks"] = _member_keys(member, path.parent)
    return issuer, members


def _operator_key(path: Path) -> Any:
    from openwerk.keys import KeyFileError, load_private_key

    try:
        return load_private_key(path)
    except KeyFileError as exc:
        fail(f"operator key: {exc}")


def _pinned_key(path: Path) -> dict[str, Any]:
    from openwerk.keys import KeyFileError, jwks

    data = _read_json(path, "operator key file")
    if not isinstance(data, dict):
        fail(f"operator key file {path} must hold a JWK or a JWKS")
    try:
        return jwks(data.get("keys", [data]))  # a private key file pins its public part
    except (KeyFileError, ValueError, TypeError) as exc:
        fail(f"operator key file {path}: {exc}")


def register_directory_commands(app: typer.Typer) -> None:
    """Add the ``keys`` and ``directory`` command groups to ``app``."""
    keys_app = typer.Typer(help="Signing keys (EC P-256 JWK) for nodes, clients and operators.")
    directory_app = typer.Typer(help="Sign and verify the federation directory (JWS).")
    app.add_typer(keys_app, name="keys")
    app.add_typer(directory_app, name="directory")

    @keys_app.command("generate")
    def generate(
        out: Annotated[Path, typer.Argument(help="Where to write the private JWK (mode 0600).")],
        public: Annotated[
            Path | None, typer.Option("--public", help="Also write the public JWK here.")
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    ) -> None:
        """Generate an EC P-256 signing key; prints its kid (the RFC 7638 thumbprint)."""
        from openwerk.keys import generate_signing_key, save_private_key, save_public_jwk

        for path in (out, public):
            if path is not None and path.exists() and not force:
                fail(f"{path} already exists; pass --force to overwrite it")
        key = generate_signing_key()
        try:
            save_private_key(key, out, overwrite=force)
            if public is not None:
                save_public_jwk(key, public, overwrite=force)
        except FileExistsError as exc:
            fail(f"{exc.filename or exc}: already exists; pass --force to overwrite it")
        except OSError as exc:
            fail(f"cannot write the key: {exc.strerror or exc}")
        stdout(str(key.kid))

    @directory_app.command("sign")
    def sign(
        members: Annotated[
            Path, typer.Option("--members", help="JSON file with the members (see docs).")
        ],
        operator_key: Annotated[
            Path, typer.Option("--operator-key", help="The operator's private JWK.")
        ],
        out: Annotated[Path, typer.Option("--out", help="Where to write the signed directory.")],
        days: Annotated[
            int, typer.Option("--days", min=1, max=366, help="Validity in days (exp - iat).")
        ] = RECOMMENDED_MAX_DAYS,
        issuer: Annotated[
            str | None,
            typer.Option("--issuer", help="The operator's id (iss); default: the file's iss."),
        ] = None,
    ) -> None:
        """Sign a directory as the federation operator (JWS, ES256)."""
        from openwerk.directory import DirectoryError, sign_directory

        file_issuer, entries = _members(members)
        iss = issuer or file_issuer
        if not iss:
            fail("no issuer: pass --issuer or put 'iss' in the members file")
        key = _operator_key(operator_key)
        now = int(time.time())
        expires = now + days * 86_400
        payload = {"iss": iss, "iat": now, "exp": expires, "members": entries}
        try:
            token = sign_directory(payload, key)
        except DirectoryError as exc:
            fail(str(exc))
        try:
            out.write_text(token + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
        if days > RECOMMENDED_MAX_DAYS:
            typer.echo(
                f"warning: valid for {days} days; OW-FED-012 recommends at most "
                f"{RECOMMENDED_MAX_DAYS}",
                err=True,
            )
        stdout(
            f"signed {out}: {len(entries)} members, iss {iss}, kid {key.kid}, "
            f"expires {_iso(expires)}"
        )

    @directory_app.command("verify")
    def verify(
        directory: Annotated[Path, typer.Argument(help="The signed directory (JWS file).")],
        operator_key: Annotated[
            Path, typer.Option("--operator-key", help="The pinned operator public JWK or JWKS.")
        ],
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the verified payload as JSON.")
        ] = False,
    ) -> None:
        """Verify a directory as nodes and SDKs do; exit 1 when it must be refused."""
        from openwerk.directory import DirectoryError, verify_directory

        pinned = _pinned_key(operator_key)
        try:
            text = directory.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read the directory {directory}: {exc.strerror or exc}")
        try:
            verified = verify_directory(text, pinned)
        except DirectoryError as exc:
            fail(f"directory refused: {exc}", code=1)
        if json_output:
            stdout(json.dumps(verified.to_payload(), indent=2, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Open Werk directory of {verified.iss}", title_justify="left")
        for column in ("member", "name", "type", "roles", "regions", "base URL"):
            table.add_column(column, no_wrap=column in ("member", "base URL"))
        for member in verified.members:
            table.add_row(
                member.id,
                member.name,
                member.organisation_type,
                ", ".join(member.roles),
                ", ".join(member.regions or ()),
                member.base_url or "-",
            )
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=140)  # pipes and logs: no folded ids
        console.print(table)
        left = (verified.exp - time.time()) / 86_400
        console.print(
            f"valid: signed by {verified.iss}, issued {_iso(verified.iat)}, "
            f"expires {_iso(verified.exp)} ({left:.1f} days left)",
            markup=False,
        )
