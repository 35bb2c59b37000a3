"""Where the normative spec documents live on disk.

The same code runs from two layouts: an installed wheel, where ``spec/v1`` is copied into the
package as ``openwerk_spec/v1`` (see ``force-include`` in pyproject.toml), and a source
checkout or editable install, where it sits beside the package as ``spec/v1``. Looking the
directory up touches the file system, so it happens on first use, not at import.
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["SPEC_V1_DIR", "spec_v1_dir"]

SPEC_V1_DIR: Path  # resolved lazily by __getattr__ below


@functools.cache
def spec_v1_dir() -> Path:
    """The ``v1`` directory holding openapi.yaml, code lists, examples and fixtures."""
    packaged = Path(__file__).parent / "v1"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "v1"


def __getattr__(name: str) -> Path:
    # PEP 562: module attribute computed on first access, so importing does no I/O.
    if name == "SPEC_V1_DIR":
        return spec_v1_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
