"""Domain errors of the reference server.

Storage and services raise these; exactly one place (``openwerk_server.problems``) turns them
into RFC 9457 problem+json responses. Nothing below the HTTP layer knows about status codes,
following stac-fastapi's split between domain errors and their HTTP mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class InvalidParam:
    """One invalid input: where (``limit``, ``body.hoursPerWeek.min``), why, and a stable code."""

    name: str
    reason: str
    code: str = "invalid"


class OpenWerkServerError(Exception):
    """Base of every domain error the server maps to a problem response."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(OpenWerkServerError):
    """Input that breaks the spec's rules; lists every problem at once (OW-ERR-003)."""

    def __init__(self, params: Sequence[InvalidParam], detail: str | None = None) -> None:
        super().__init__(detail or f"{len(params)} invalid parameter(s).")
        self.params = tuple(params)


class MalformedBody(OpenWerkServerError):
    """A request body that is not parseable JSON (or form data)."""


class NotFound(OpenWerkServerError):
    """No such resource, or none the caller may see (deliberately the same answer)."""


class Conflict(OpenWerkServerError):
    """The request conflicts with the current state of a resource."""


class IllegalTransition(Conflict):
    """A state transition that the resource's state machine does not allow (OW-INTRO-004)."""


class PayloadTooLarge(OpenWerkServerError):
    """The request body exceeds the configured limit."""


class UnsupportedMediaType(OpenWerkServerError):
    """The request body has a media type the operation does not accept."""


class NotAcceptable(OpenWerkServerError):
    """None of the media types in ``Accept`` can be produced."""


class StorageUnavailable(OpenWerkServerError):
    """The database could not be reached or failed; mapped to 503, never swallowed."""


class ServiceUnavailable(OpenWerkServerError):
    """The node cannot serve this now (e.g. no directory configured); mapped to 503."""
