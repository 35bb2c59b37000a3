"""Conformance gating: call only what the node says it implements.

Like pystac-client, the client reads the node's declaration (``GET /conformance``) once, on
the first call that needs a class, and checks each such call against it. What happens on a
gap is the caller's choice:

* ``warn`` (default): a ``ConformanceWarning`` once per class per client, then the call is
  made anyway — the node may implement more than it declares, and the answer will tell.
* ``strict``: ``ConformanceError`` before anything is sent; for platforms that must not
  depend on undeclared behaviour.
* ``ignore``: no check and no ``/conformance`` request at all.

The gate does no I/O; the sync and async clients fetch the declaration and hand it over,
so both behave identically.
"""

from __future__ import annotations

from typing import Literal

from openwerk._errors import ConformanceError, ConformanceWarning, OpenWerkError, warn
from openwerk_spec.classes import ConformanceClass

__all__ = ["ConformanceGate", "ConformanceMode"]

ConformanceMode = Literal["warn", "strict", "ignore"]


class ConformanceGate:
    """The declared classes of one node and the policy for calls that need others."""

    def __init__(self, mode: ConformanceMode = "warn") -> None:
        self.mode: ConformanceMode = mode
        self._declared: frozenset[ConformanceClass] | None = None
        self._failure: OpenWerkError | None = None
        self._loaded = False
        self._warned: set[ConformanceClass | None] = set()

    @property
    def needs_declaration(self) -> bool:
        """Whether the client must fetch ``/conformance`` before the next gated call."""
        return self.mode != "ignore" and not self._loaded

    @property
    def declared(self) -> frozenset[ConformanceClass] | None:
        """The declared classes, or ``None`` before (or without) a readable declaration."""
        return self._declared

    def record(self, classes: frozenset[ConformanceClass]) -> None:
        """Store the node's declaration."""
        self._declared = classes
        self._failure = None
        self._loaded = True

    @property
    def loaded(self) -> bool:
        """Whether a declaration (or the failure to read one) has been recorded."""
        return self._loaded

    def record_failure(self, error: OpenWerkError) -> None:
        """``/conformance`` answered an error or nonsense; gated calls treat it as unknown."""
        self._declared = None
        self._failure = error
        self._loaded = True

    def check(self, needed: ConformanceClass, operation: str) -> None:
        """Apply the policy to a call of ``operation``, which needs class ``needed``."""
        if self.mode == "ignore":
            return
        if self._declared is None:
            reason = (
                f"the node's /conformance could not be read ({self._failure})"
                if self._failure is not None
                else "the node's conformance declaration has not been read"
            )
            message = f"{operation} needs the '{needed}' class, but {reason}"
            if self.mode == "strict":
                raise ConformanceError(message, needed=needed, declared=None) from self._failure
            self._warn_once(None, message)
            return
        if needed in self._declared:
            return
        declared = ", ".join(sorted(c.value for c in self._declared)) or "none"
        message = (
            f"{operation} needs the '{needed}' conformance class, which this node does not "
            f"declare (it declares: {declared})"
        )
        if self.mode == "strict":
            raise ConformanceError(message, needed=needed, declared=self._declared)
        self._warn_once(needed, message)

    def _warn_once(self, key: ConformanceClass | None, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        warn(
            message + "; calling it anyway (strict mode would refuse the call)",
            ConformanceWarning,
        )
