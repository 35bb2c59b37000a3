"""Small helpers the server's CLI commands share: one-line failures and settings loading.

Every refused configuration ends a command with exactly one line on stderr and exit code 2
(1 when the command ran and the answer is "no", e.g. a directory that must be refused): an
operator starting a node reads ``openwerk serve: k: k must be at least 5 ...`` — never a
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from openwerk_server.settings import NodeSettings

__all__ = ["USAGE", "fail", "load_node_settings", "one_line", "stdout"]

#: Exit code of a usage or configuration error.
USAGE = 2


def one_line(text: str) -> str:
    """``text`` with its lines joined by "; " (several problems, one line)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def fail(message: str, *, code: int = USAGE) -> NoReturn:
    """Print ``openwerk: <message>`` as one line on stderr and exit with ``code``."""
    typer.echo(f"openwerk: {one_line(message)}", err=True)
    raise typer.Exit(code)


def stdout(text: str) -> None:
    """A line (or block) of normal output."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def load_node_settings(config: Path | None, **overrides: Any) -> NodeSettings:
    """Node settings from ``config`` (a ``node.toml``) or, without it, ``OPENWERK_*`` only.

    ``overrides`` that are not None win over both. Any problem is one line and exit 2.
    """
    from pydantic import ValidationError

    from openwerk_server.settings import NodeSettings, describe_settings_error

    given = {name: value for name, value in overrides.items() if value is not None}
    source = f"configuration {config}" if config is not None else "configuration (OPENWERK_*)"
    try:
        if config is not None:
            return NodeSettings.from_file(config, **given)
        return NodeSettings(**given)
    except ValidationError as exc:
        fail(f"invalid {source}: {one_line(describe_settings_error(exc))}")
    except FileNotFoundError as exc:
        fail(str(exc))
    except (OSError, ValueError) as exc:  # unreadable file, TOML syntax error
        fail(f"cannot read {source}: {exc}")
