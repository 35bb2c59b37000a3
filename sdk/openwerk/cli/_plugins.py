"""Plugin command groups, discovered through the ``openwerk.cli`` entry point group.

A plugin that cannot be imported (a missing optional dependency, a bug) must not take the
whole CLI down with it: it costs one line on stderr and its commands are absent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib import metadata
from typing import TextIO

import typer

__all__ = ["ENTRY_POINT_GROUP", "load_plugins"]

#: The entry point group plugins register in (``[project.entry-points."openwerk.cli"]``).
ENTRY_POINT_GROUP = "openwerk.cli"


def load_plugins(
    app: typer.Typer,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    *,
    stderr: TextIO | None = None,
) -> list[str]:
    """Let every plugin register its commands on ``app``; returns the names that loaded.

    ``entry_points`` defaults to the installed ones; tests pass their own.
    """
    found = metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
    loaded: list[str] = []
    for entry_point in sorted(found, key=lambda ep: ep.name):
        try:
            register = entry_point.load()
            register(app)
        except Exception as exc:  # any failure of a plugin is reported, never fatal
            print(
                f"openwerk: plugin {entry_point.name!r} ({entry_point.value}) not loaded: "
                f"{type(exc).__name__}: {exc}",
                file=stderr or sys.stderr,
            )
            continue
        loaded.append(entry_point.name)
    return loaded
