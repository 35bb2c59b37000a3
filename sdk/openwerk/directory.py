"""The federation directory: who is a member, where they live, and which keys are theirs.

The directory is a JSON document (schema ``Directory`` in the spec) signed by the federation
operator as a JWS (ES256, header ``typ`` = ``openwerk-directory+jws``). Nodes and the SDK
pin the operator's public key and trust nothing in the directory until ``verify_directory``
has checked, in this order: that it is a JWS of the right type; that its ``kid`` is a pinned
operator key; the signature; the payload against the spec's schema (plus unique member ids
and public-only keys); and the validity window (``iat`` ≤ now + 60 s, now < ``exp``).

``DirectoryCache`` keeps one verified directory and re-reads it when it expires (or on
demand), keeping the old one only while that one is itself still valid.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from openwerk._errors import OpenWerkError
from openwerk.keys import SIGNING_ALG, KeyFileError, import_private_jwk, import_public_keys
from openwerk_spec.openapi import validation_errors

__all__ = [
    "DIRECTORY_TYP",
    "IAT_SKEW_SECONDS",
    "Directory",
    "DirectoryCache",
    "DirectoryError",
    "DirectoryExpiredError",
    "DirectoryFormatError",
    "DirectoryNotYetValidError",
    "DirectoryRollbackError",
    "DirectorySignatureError",
    "DirectoryUnavailableError",
    "Member",
    "MemberRole",
    "OperatorKey",
    "UnknownOperatorKeyError",
    "load_directory",
    "sign_directory",
    "verify_directory",
]

#: The JWS ``typ`` header of a signed directory; keeps other operator-signed JWS out.
DIRECTORY_TYP = "openwerk-directory+jws"
#: How far in the future ``iat`` may lie (clock skew between operator and reader).
IAT_SKEW_SECONDS = 60
#: A directory lists every member with keys: allow more than joserfc's 128 kB default.
_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
_JWS_COMPACT = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")

MemberRole = Literal["provider", "consumer", "publisher", "gateway"]
#: The pinned operator key: a public JWK, a JWKS (during a key rollover), or a joserfc key.
OperatorKey = Mapping[str, Any] | ECKey | KeySet


# --------------------------------------------------------------------------- errors


class DirectoryError(OpenWerkError):
    """Base of every reason a directory is not trusted. The message says what to do."""


class DirectorySignatureError(DirectoryError):
    """The signature does not verify: tampered with, or not signed by the operator."""


class UnknownOperatorKeyError(DirectoryError):
    """The directory was signed with a key (``kid``) that is not the pinned operator key."""


class DirectoryExpiredError(DirectoryError):
    """The directory is outside its validity window (``exp`` reached)."""


class DirectoryNotYetValidError(DirectoryExpiredError):
    """The directory's ``iat`` lies in the future beyond the allowed clock skew."""


class DirectoryFormatError(DirectoryError):
    """Not a signed directory, or a payload that breaks the spec's ``Directory`` schema."""


class DirectoryRollbackError(DirectoryError):
    """A refresh produced a directory older than the one already trusted."""


class DirectoryUnavailableError(DirectoryError):
    """The directory could not be read (file missing, loader failed)."""


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel)


class Member(_Model):
    """One federation member as the signed directory lists it (spec ``Directory.members[]``)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    organisation_type: str
    base_url: str | None = None
    roles: tuple[MemberRole, ...]
    publishes_to: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    jwks: dict[str, Any]
    attestation: str | None = None

    def has_role(self, role: MemberRole) -> bool:
        """Whether the directory gives this member ``role``."""
        return role in self.roles

    def key_set(self) -> KeySet:
        """The member's public keys as a joserfc ``KeySet`` (for signature checks)."""
        return KeySet.import_key_set(cast(Any, self.jwks))

    def key_ids(self) -> tuple[str, ...]:
        """The ``kid`` of every key the directory lists for this member."""
        return tuple(str(k.get("kid")) for k in self.jwks.get("keys", []))


class Directory(_Model):
    """A verified federation directory (the JWS payload)."""

    # The schema leaves the top level open; keep unknown members so a re-sign is faithful.
    model_config = ConfigDict(extra="allow")

    iss: str
    iat: int
    exp: int
    members: tuple[Member, ...]

    def member(self, member_id: str) -> Member | None:
        """The member with this id, or None."""
        return next((m for m in self.members if m.id == member_id), None)

    def require_member(self, member_id: str) -> Member:
        """The member with this id; ``KeyError`` naming it if there is none."""
        found = self.member(member_id)
        if found is None:
            raise KeyError(f"{member_id!r} is not a member of the federation directory")
        return found

    def with_role(self, role: MemberRole) -> tuple[Member, ...]:
        """Members with ``role``, in directory order."""
        return tuple(m for m in self.members if role in m.roles)

    def providers(self) -> tuple[Member, ...]:
        """Members that serve data (role ``provider``) and say where (``baseUrl``)."""
        return tuple(m for m in self.with_role("provider") if m.base_url)

    def consumers(self) -> tuple[Member, ...]:
        """Members with the ``consumer`` role."""
        return self.with_role("consumer")

    def keys_of(self, member_id: str) -> dict[str, Any]:
        """The JWKS the directory lists for ``member_id`` (``KeyError`` if not a member)."""
        return self.require_member(member_id).jwks

    @property
    def expires_at(self) -> datetime:
        """``exp`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.exp, UTC)

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload (camelCase, absent optionals left out) that gets signed."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --------------------------------------------------------------------------- sign / verify


def _registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[SIGNING_ALG])
    registry.max_payload_length = _MAX_PAYLOAD_BYTES
    return registry


def _epoch(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)


def _payload_problems(payload: Any) -> list[str]:
    problems = validation_errors("Directory", payload)
    if problems:
        return problems
    seen: set[str] = set()
    for member in payload["members"]:
        if member["id"] in seen:
            problems.append(f"members: id {member['id']!r} appears more than once")
        seen.add(member["id"])
        if any("d" in k or "k" in k for k in member["jwks"]["keys"]):
            problems.append(
                f"members: the jwks of {member['id']!r} holds private or symmetric key material"
            )
    if payload["exp"] <= payload["iat"]:
        problems.append("exp must be after iat")
    return problems


def sign_directory(
    directory: Directory | Mapping[str, Any], operator_private_key: ECKey | Mapping[str, Any]
) -> str:
    """Sign ``directory`` as the operator: a JWS compact string (ES256, ``kid``, ``typ``).

    Refuses (``DirectoryFormatError``) to sign a payload that readers would refuse.
    """
    payload = directory.to_payload() if isinstance(directory, Directory) else dict(directory)
    problems = _payload_problems(payload)
    if problems:
        raise DirectoryFormatError(
            "refusing to sign a directory that breaks the Directory schema: " + "; ".join(problems)
        )
    key = (
        operator_private_key
        if isinstance(operator_private_key, ECKey)
        else import_private_jwk(operator_private_key)
    )
    key.ensure_kid()
    header = {"alg": SIGNING_ALG, "kid": key.kid, "typ": DIRECTORY_TYP}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return jws.serialize_compact(header, body, key, registry=_registry())


def verify_directory(
    token: str, operator_public_jwk: OperatorKey, *, now: float | datetime | None = None
) -> Directory:
    """Verify a signed directory against the pinned operator key and return its payload.

    Raises a ``DirectoryError`` subclass naming what is wrong; never returns an unverified
    directory.
    """
    registry = _registry()
    try:
        obj = jws.extract_compact(token.strip().encode("ascii"), registry=registry)
    except (JoseError, ValueError) as exc:
        raise DirectoryFormatError(
            f"not a signed directory (expected a JWS compact serialization): {exc}. "
            "Point the node at the operator's directory file."
        ) from exc
    header = obj.headers()
    if header.get("typ") != DIRECTORY_TYP:
        raise DirectoryFormatError(
            f"JWS typ is {header.get('typ')!r}, expected {DIRECTORY_TYP!r}: "
            "this is not a federation directory"
        )
    if header.get("alg") != SIGNING_ALG:
        raise DirectorySignatureError(
            f"directory signed with alg {header.get('alg')!r}; only {SIGNING_ALG} is accepted"
        )
    try:
        operator_keys = import_public_keys(operator_public_jwk)
    except (KeyFileError, JoseError, KeyError, TypeError) as exc:
        raise UnknownOperatorKeyError(f"the pinned operator key is not usable: {exc}") from exc
    kid = header.get("kid")
    pinned = [k.kid for k in operator_keys]
    if not isinstance(kid, str) or kid not in pinned:
        raise UnknownOperatorKeyError(
            f"unknown operator key: the directory is signed with kid {kid!r}, but the pinned "
            f"operator key is {', '.join(map(repr, pinned))}. Check you pinned this federation's "
            "operator key, or get the operator's new public key if it rotated."
        )
    try:
        valid = jws.validate_compact(obj, operator_keys.get_by_kid(kid), registry=registry)
    except JoseError as exc:
        raise DirectorySignatureError(f"directory signature not verifiable: {exc}") from exc
    if not valid:
        raise DirectorySignatureError(
            "directory signature does not verify against the operator key: the file was "
            "altered after signing. Fetch a fresh copy from the operator."
        )
    try:
        payload = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DirectoryFormatError(f"directory payload is not JSON: {exc}") from exc
    problems = _payload_problems(payload)
    if problems:
        raise DirectoryFormatError(
            "directory payload breaks the Directory schema: " + "; ".join(problems[:10])
        )
    moment = _epoch(now)
    if payload["exp"] <= moment:
        raise DirectoryExpiredError(
            f"directory expired at {_iso(payload['exp'])} (now {_iso(moment)}); "
            "fetch the operator's current directory"
        )
    if payload["iat"] > moment + IAT_SKEW_SECONDS:
        raise DirectoryNotYetValidError(
            f"directory issued in the future ({_iso(payload['iat'])}, now {_iso(moment)}); "
            "check this machine's clock"
        )
    return Directory.model_validate(payload)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _read(source: str | os.PathLike[str]) -> str:
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryUnavailableError(
            f"cannot read the directory file {path}: {exc.strerror or exc}"
        ) from exc


def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _fetch_url(url: str, timeout: float = 10.0) -> str:
    # The signature, not the transport, makes a directory trustworthy; https keeps it private.
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DirectoryUnavailableError(f"cannot fetch the directory from {url}: {exc}") from exc
    return response.text


def load_directory(
    path_or_text: str | os.PathLike[str],
    operator_key: OperatorKey,
    *,
    now: float | datetime | None = None,
) -> Directory:
    """Verify a directory given as JWS text, a file path, or an ``https://`` URL."""
    if isinstance(path_or_text, str) and _JWS_COMPACT.match(path_or_text.strip()):
        text = path_or_text
    elif isinstance(path_or_text, str) and _is_url(path_or_text):
        text = _fetch_url(path_or_text)
    else:
        text = _read(path_or_text)
    return verify_directory(text, operator_key, now=now)


# --------------------------------------------------------------------------- cache


class DirectoryCache:
    """One verified directory, refreshed when it expires or when asked.

    ``source`` is the directory's location (a file path, or an ``https://`` URL fetched with
    httpx) or a callable returning the JWS text. ``get()`` (also ``cache()``, so the cache
    itself is a directory source) refreshes once ``exp - refresh_margin`` is reached, or
    ``max_age`` seconds after the last load (default hourly, OW-FED-012). When a refresh
    fails, the old directory is served only while it is itself valid (retrying every
    ``retry_interval`` seconds); after its ``exp`` the failure is raised. A refresh never
    goes back to an older directory (``iat``), so a stale copy cannot re-admit a removed
    member (OW-FED-013). Thread-safe.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Callable[[], str],
        operator_key: OperatorKey,
        *,
        refresh_margin: float = 0.0,
        max_age: float | None = 3600.0,
        retry_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._operator_key = operator_key
        self._refresh_margin = refresh_margin
        self._max_age = max_age
        self._retry_interval = retry_interval
        self._retry_after = 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Directory | None = None
        self._loaded_at = 0.0
        self.last_error: DirectoryError | None = None

    @property
    def current(self) -> Directory | None:
        """The directory held now (possibly due for a refresh), or None before the first load."""
        return self._current

    def _fetch(self) -> str:
        if callable(self._source):
            try:
                return self._source()
            except DirectoryError:
                raise
            except Exception as exc:  # any loader failure means "unavailable"; cause kept
                raise DirectoryUnavailableError(f"directory loader failed: {exc}") from exc
        if isinstance(self._source, str) and _is_url(self._source):
            return _fetch_url(self._source)
        return _read(self._source)

    def _refresh_locked(self, now: float) -> Directory:
        fresh = verify_directory(self._fetch(), self._operator_key, now=now)
        current = self._current
        if current is not None and fresh.iat < current.iat:
            raise DirectoryRollbackError(
                f"refusing a directory issued at {_iso(fresh.iat)}: the one in use was issued "
                f"later ({_iso(current.iat)}). The source serves a stale copy."
            )
        self._current = fresh
        self._loaded_at = now
        self._retry_after = 0.0
        self.last_error = None
        return fresh

    def refresh(self) -> Directory:
        """Load and verify now; raises on failure (the old directory stays in place)."""
        with self._lock:
            return self._refresh_locked(self._clock())

    def _due(self, current: Directory, now: float) -> bool:
        if now >= current.exp:
            return True  # never serve an expired directory, whatever the retry pause says
        if now < self._retry_after:
            return False
        if now >= current.exp - self._refresh_margin:
            return True
        return self._max_age is not None and now - self._loaded_at >= self._max_age

    def fresh(self) -> Directory | None:
        """The directory held now if no refresh is due, else None; never loads or waits.

        For callers on an event loop: None means "call ``get`` in a worker thread", which may
        read a file or the network.
        """
        current = self._current
        if current is None or self._due(current, self._clock()):
            return None
        return current

    def get(self) -> Directory:
        """The verified directory, refreshed first if it is due."""
        with self._lock:
            now = self._clock()
            current = self._current
            if current is None:
                return self._refresh_locked(now)
            if not self._due(current, now):
                return current
            try:
                return self._refresh_locked(now)
            except DirectoryError as exc:
                if now < current.exp:
                    self.last_error = exc
                    # Keep serving the still-valid directory; do not hit the source on every call.
                    self._retry_after = now + self._retry_interval
                    return current
                raise

    __call__ = get
