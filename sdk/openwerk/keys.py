"""Signing keys of Open Werk: nodes, clients and the federation operator.

Every party signs with an EC P-256 key (JWS ``ES256``). A key is identified by its ``kid``,
the RFC 7638 JWK thumbprint, so the same key always gets the same id wherever it is
derived. Private keys live in JWK JSON files with mode 0600; public keys travel as a JWK
or a JWKS (the form the federation directory lists for each member).

All JOSE work is joserfc's; this module only chooses the parameters and the file layout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet

__all__ = [
    "SIGNING_ALG",
    "KeyFileError",
    "generate_signing_key",
    "import_private_jwk",
    "import_public_keys",
    "jwks",
    "load_jwks",
    "load_private_key",
    "load_public_jwk",
    "private_jwk",
    "public_jwk",
    "save_jwks",
    "save_private_key",
    "save_public_jwk",
]

#: The one signature algorithm Open Werk parties sign with.
SIGNING_ALG = "ES256"
_CURVE = "P-256"
#: Private-key files are readable by their owner only.
_PRIVATE_FILE_MODE = 0o600


class KeyFileError(ValueError):
    """A key file or JWK that is unreadable, of the wrong kind, or not private where it must be."""


def _finish(key: ECKey) -> ECKey:
    """Give the key its thumbprint ``kid`` (unless it has one) and check it is P-256."""
    if key.get("crv") != _CURVE:
        raise KeyFileError(
            f"Open Werk signs with {SIGNING_ALG}, which needs an EC {_CURVE} key; "
            f"this key has curve {key.get('crv')!r}. Generate one with `generate_signing_key()`."
        )
    key.ensure_kid()
    return key


def generate_signing_key() -> ECKey:
    """A new EC P-256 private key whose ``kid`` is its RFC 7638 thumbprint.

    The JWK also states ``alg`` = ES256 and ``use`` = sig, so verifiers know what it is for.
    """
    key = ECKey.generate_key(_CURVE, parameters={"alg": SIGNING_ALG, "use": "sig"})
    return _finish(key)


def import_private_jwk(data: Mapping[str, Any]) -> ECKey:
    """Import a private EC P-256 key from its JWK (a dict with ``d``)."""
    if "d" not in data:
        raise KeyFileError(
            "this JWK has no private part ('d'): it is a public key. "
            "Pass the private key file you generated, not the public JWK."
        )
    try:
        key = ECKey.import_key(dict(data))
    except (JoseError, ValueError, TypeError) as exc:
        raise KeyFileError(f"not a valid EC private JWK: {exc}") from exc
    return _finish(key)


def _public_key_of(key: ECKey | Mapping[str, Any]) -> ECKey:
    if isinstance(key, ECKey):
        return key
    try:
        return _finish(ECKey.import_key(dict(key)))
    except (JoseError, ValueError, TypeError) as exc:
        raise KeyFileError(f"not a valid EC JWK: {exc}") from exc


def public_jwk(key: ECKey | Mapping[str, Any]) -> dict[str, Any]:
    """The public JWK (``kty``, ``crv``, ``x``, ``y``, ``kid``, ``alg``, ``use``) of ``key``.

    Never contains ``d``, whether ``key`` is private or public.
    """
    ec = _public_key_of(key)
    ec.ensure_kid()
    data = cast(dict[str, Any], ec.as_dict(private=False))
    data.setdefault("alg", SIGNING_ALG)
    data.setdefault("use", "sig")
    return data


def private_jwk(key: ECKey) -> dict[str, Any]:
    """The private JWK of ``key`` (with ``d``): what ``save_private_key`` writes."""
    if not key.is_private:
        raise KeyFileError("this is a public key; there is no private JWK to write")
    key.ensure_kid()
    data = cast(dict[str, Any], key.as_dict(private=True))
    data.setdefault("alg", SIGNING_ALG)
    data.setdefault("use", "sig")
    return data


def jwks(keys: Iterable[ECKey | Mapping[str, Any]]) -> dict[str, Any]:
    """A JWKS ``{"keys": [...]}`` of the public parts of ``keys`` (directory ``jwks`` form)."""
    return {"keys": [public_jwk(k) for k in keys]}


def import_public_keys(data: Mapping[str, Any] | ECKey | KeySet) -> KeySet:
    """A joserfc ``KeySet`` from a JWK, a JWKS, a key or a key set (private parts are dropped)."""
    if isinstance(data, KeySet):
        if not all(isinstance(k, ECKey) for k in data):
            raise KeyFileError("Open Werk keys are EC P-256 keys; this key set holds others")
        return KeySet([ECKey.import_key(public_jwk(cast(ECKey, k))) for k in data])
    if isinstance(data, ECKey):
        return KeySet([ECKey.import_key(public_jwk(data))])
    raw_keys = data.get("keys", [data])
    if not isinstance(raw_keys, list) or not raw_keys:
        raise KeyFileError("a JWKS needs a non-empty 'keys' list")
    keys: list[Key] = []
    for raw in raw_keys:
        if not isinstance(raw, Mapping):
            raise KeyFileError("every entry of a JWKS must be a JWK object")
        keys.append(ECKey.import_key(public_jwk(raw)))
    return KeySet(keys)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"key file {path} is not JSON: {exc}") from exc


def _write_text(path: Path, text: str, mode: int, overwrite: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:
        raise FileExistsError(
            f"{path} already exists; refusing to overwrite a key file (pass overwrite=True)"
        ) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        # os.open's mode only applies to new files (and is masked by umask): set it explicitly.
        os.fchmod(fh.fileno(), mode)
        fh.write(text)


def save_private_key(key: ECKey, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the private JWK of ``key`` to ``path`` with mode 0600; returns the path."""
    target = Path(path)
    text = json.dumps(private_jwk(key), indent=2, sort_keys=True) + "\n"
    _write_text(target, text, _PRIVATE_FILE_MODE, overwrite)
    return target


def load_private_key(path: str | os.PathLike[str]) -> ECKey:
    """Read a private EC P-256 JWK file written by ``save_private_key``."""
    data = _read_json(Path(path))
    if not isinstance(data, dict):
        raise KeyFileError(f"key file {path} must hold one JWK object")
    try:
        return import_private_jwk(data)
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def save_public_jwk(
    key: ECKey | Mapping[str, Any], path: str | os.PathLike[str], *, overwrite: bool = True
) -> Path:
    """Write the public JWK of ``key`` (safe to share, mode 0644)."""
    target = Path(path)
    _write_text(
        target, json.dumps(public_jwk(key), indent=2, sort_keys=True) + "\n", 0o644, overwrite
    )
    return target


def load_public_jwk(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a public JWK file; refuses a file that holds a private key."""
    data = _read_json(Path(path))
    if not isinstance(data, dict) or "keys" in data:
        raise KeyFileError(f"{path} must hold a single JWK object (use load_jwks for a JWKS)")
    if "d" in data:
        raise KeyFileError(f"{path} holds a private key; pin and share only the public JWK")
    return public_jwk(data)


def save_jwks(
    keys: Iterable[ECKey | Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> Path:
    """Write the public JWKS of ``keys`` (mode 0644)."""
    target = Path(path)
    _write_text(target, json.dumps(jwks(keys), indent=2, sort_keys=True) + "\n", 0o644, overwrite)
    return target


def load_jwks(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JWKS file (or a single public JWK, returned as a one-key JWKS)."""
    data = _read_json(Path(path))
    if not isinstance(data, dict):
        raise KeyFileError(f"{path} must hold a JWKS object")
    raw_keys = data.get("keys", [data])
    if not isinstance(raw_keys, list) or not raw_keys:
        raise KeyFileError(f"{path}: a JWKS needs a non-empty 'keys' list")
    if any(isinstance(k, dict) and "d" in k for k in raw_keys):
        raise KeyFileError(f"{path} holds private key material; a JWKS must be public")
    return jwks(raw_keys)
