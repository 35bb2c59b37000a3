"""A signed statement that a node passed the suite, for the member's directory entry.

A JWT (JWS compact, ES256 by default) signed with the key given by ``--attestation-key``:
which suite and spec version checked which node for which classes, when, and until when the
statement holds. It is issued only for an attestable run (no FAIL, no ERROR), and it names
only the classes that had at least one passing check — a class whose checks were all skipped
was not shown to work.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from openwerk_conformance.oauth import PrivateKey
from openwerk_conformance.results import RunResult, Status
from openwerk_spec.classes import ConformanceClass

__all__ = [
    "ATTESTATION_TYPE",
    "DEFAULT_VALIDITY_DAYS",
    "NotAttestable",
    "attestation_claims",
    "attested_classes",
    "sign_attestation",
    "verify_attestation",
]

#: The JWS ``typ`` of an attestation, so it cannot be mistaken for an access token.
ATTESTATION_TYPE: Final = "openwerk-conformance-attestation+jwt"
DEFAULT_VALIDITY_DAYS: Final = 365
_ALGORITHMS: Final = {"EC": "ES256", "RSA": "RS256", "OKP": "EdDSA"}


class NotAttestable(ValueError):  # noqa: N818 - a refusal, named for what it says
    """The run had a FAIL or an ERROR, or no class passed."""


def attested_classes(run: RunResult) -> list[ConformanceClass]:
    """Selected classes with at least one PASS and no FAIL or ERROR."""
    grouped = run.by_class()
    attested = []
    for cls in run.selected_classes:
        statuses = {r.status for r in grouped.get(cls, [])}
        if Status.PASS in statuses and not statuses & {Status.FAIL, Status.ERROR}:
            attested.append(cls)
    return attested


def attestation_claims(
    run: RunResult,
    *,
    issuer: str = "openwerk-conformance",
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The claims of the attestation; ``NotAttestable`` for a run that cannot be attested."""
    if not run.attestable:
        raise NotAttestable("only a run without FAIL and ERROR results can be attested")
    classes = attested_classes(run)
    if not classes:
        raise NotAttestable("no conformance class had a passing check")
    issued = now or datetime.now(UTC)
    return {
        "iss": issuer,
        "sub": run.node_id or run.base_url,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(days=validity_days)).timestamp()),
        "jti": secrets.token_urlsafe(16),
        "nodeUrl": run.base_url,
        "suite": {"name": "openwerk-conformance", "version": run.suite_version},
        "specVersion": run.spec_version,
        "nodeSpecVersion": run.node_spec_version,
        "conformsTo": [c.uri for c in classes],
        "runStarted": run.started.isoformat(timespec="seconds"),
        "results": run.counts(),
    }


def sign_attestation(
    run: RunResult,
    key: PrivateKey,
    *,
    issuer: str = "openwerk-conformance",
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    now: datetime | None = None,
) -> str:
    """The signed attestation (JWS compact serialisation)."""
    claims = attestation_claims(run, issuer=issuer, validity_days=validity_days, now=now)
    header: dict[str, Any] = {"alg": _ALGORITHMS[key.key_type], "typ": ATTESTATION_TYPE}
    if key.kid:
        header["kid"] = key.kid
    return jwt.encode(header, claims, key)


def verify_attestation(token: str, public_key: dict[str, Any]) -> dict[str, Any]:
    """The claims of an attestation after checking its signature, type and expiry.

    ``ValueError`` when any of those fails. For directory tools and the suite's own tests.
    """
    kty = public_key.get("kty")
    key: PrivateKey
    if kty == "EC":
        key = ECKey.import_key(public_key)
    elif kty == "RSA":
        key = RSAKey.import_key(public_key)
    elif kty == "OKP":
        key = OKPKey.import_key(public_key)
    else:
        raise ValueError(f"unsupported key type {kty!r}")
    try:
        decoded = jwt.decode(token, key, algorithms=list(_ALGORITHMS.values()))
    except Exception as exc:  # joserfc raises several unrelated types for a bad token
        raise ValueError(f"the attestation does not verify: {exc}") from exc
    if decoded.header.get("typ") != ATTESTATION_TYPE:
        raise ValueError(f"typ is {decoded.header.get('typ')!r}, not {ATTESTATION_TYPE}")
    claims = dict(decoded.claims)
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < datetime.now(UTC).timestamp():
        raise ValueError("the attestation has expired")
    return claims
