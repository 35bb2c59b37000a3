"""Problem types of Open Werk v1 (RFC 9457).

Each problem has a stable ``code``; its ``type`` is a URI naming the rule that was broken.
Server, SDK and conformance suite share this table so the codes cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PROBLEM_TYPE_PREFIX = "https://w3id.org/openwerk/v1/problems/"


class ProblemCode(StrEnum):
    """Stable problem codes; the value is the last segment of the problem ``type`` URI."""

    INVALID_PARAMETERS = "invalid-parameters"
    MALFORMED_BODY = "malformed-body"
    UNAUTHORIZED = "unauthorized"
    INVALID_TOKEN = "invalid-token"  # noqa: S105 - a problem code, not a secret
    INSUFFICIENT_SCOPE = "insufficient-scope"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    NOT_ACCEPTABLE = "not-acceptable"
    CONFLICT = "conflict"
    ILLEGAL_TRANSITION = "illegal-transition"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    TOKEN_REQUEST_INVALID = "token-request-invalid"  # noqa: S105 - a problem code
    UPSTREAM_UNAVAILABLE = "upstream-unavailable"
    SERVICE_UNAVAILABLE = "service-unavailable"
    INTERNAL = "internal"

    @property
    def type_uri(self) -> str:
        """The dereferenceable ``type`` URI of this problem."""
        return PROBLEM_TYPE_PREFIX + self.value


@dataclass(frozen=True)
class ProblemType:
    """HTTP status and title that go with a problem code."""

    code: ProblemCode
    status: int
    title: str


PROBLEM_TYPES: dict[ProblemCode, ProblemType] = {
    t.code: t
    for t in (
        ProblemType(ProblemCode.INVALID_PARAMETERS, 400, "Invalid input"),
        ProblemType(ProblemCode.MALFORMED_BODY, 400, "The request body is not valid JSON"),
        ProblemType(ProblemCode.UNAUTHORIZED, 401, "Authentication required"),
        ProblemType(ProblemCode.INVALID_TOKEN, 401, "The access token is not valid here"),
        ProblemType(ProblemCode.INSUFFICIENT_SCOPE, 403, "The access token lacks a scope"),
        ProblemType(ProblemCode.FORBIDDEN, 403, "Not allowed"),
        ProblemType(ProblemCode.NOT_FOUND, 404, "Not found"),
        ProblemType(ProblemCode.METHOD_NOT_ALLOWED, 405, "Method not allowed"),
        ProblemType(ProblemCode.NOT_ACCEPTABLE, 406, "Not acceptable"),
        ProblemType(ProblemCode.CONFLICT, 409, "Conflict"),
        ProblemType(ProblemCode.ILLEGAL_TRANSITION, 409, "Illegal state transition"),
        ProblemType(ProblemCode.PAYLOAD_TOO_LARGE, 413, "Request body too large"),
        ProblemType(ProblemCode.UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported media type"),
        ProblemType(ProblemCode.TOKEN_REQUEST_INVALID, 400, "Invalid token request"),
        ProblemType(ProblemCode.UPSTREAM_UNAVAILABLE, 502, "A federation member did not answer"),
        ProblemType(ProblemCode.SERVICE_UNAVAILABLE, 503, "Service unavailable"),
        ProblemType(ProblemCode.INTERNAL, 500, "Internal error"),
    )
}
