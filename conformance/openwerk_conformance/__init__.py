"""Open Werk conformance suite: raw HTTP checks that prove a node follows the standard.

It speaks HTTP with httpx and judges answers with the spec's own JSON Schemas
(``openwerk_spec``); it imports neither the reference server nor the SDK, so a bug shared by
those cannot hide itself. Entry point: ``openwerk-conformance run BASE_URL``.
"""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

__all__ = ["suite_version"]


@functools.cache
def suite_version() -> str:
    """The suite's version (the distribution's), stated in reports and attestations."""
    try:
        return version("openwerk")
    except PackageNotFoundError:  # running from a bare source tree
        return "0.0.0+unknown"
