"""Process entry point: ``uvicorn --factory openwerk_server.main:build_app``.

The only place settings are read from the environment (and ``OPENWERK_CONFIG``, a path to a
``node.toml``). A configuration error ends the start with one line per problem instead of a
traceback.
"""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI
from pydantic import ValidationError

from openwerk.directory import DirectoryError
from openwerk.keys import KeyFileError
from openwerk_server.app import create_app
from openwerk_server.auth.wiring import AuthConfigurationError
from openwerk_server.settings import NodeSettings, describe_settings_error

__all__ = ["build_app", "load_settings"]

CONFIG_ENV = "OPENWERK_CONFIG"


def load_settings() -> NodeSettings:
    """Settings from ``$OPENWERK_CONFIG`` (if set) overlaid with ``OPENWERK_*`` variables."""
    path = os.environ.get(CONFIG_ENV)
    return NodeSettings.from_file(path) if path else NodeSettings()


def build_app() -> FastAPI:
    """The node this process serves; exits with a readable message on bad configuration."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        sys.stderr.write("Open Werk node configuration is invalid:\n")
        sys.stderr.write(describe_settings_error(exc) + "\n")
        raise SystemExit(2) from exc
    except FileNotFoundError as exc:
        sys.stderr.write(f"Open Werk node configuration: {exc}\n")
        raise SystemExit(2) from exc
    try:
        return create_app(settings)
    except (AuthConfigurationError, DirectoryError, KeyFileError) as exc:
        sys.stderr.write(f"Open Werk node configuration: {exc}\n")
        raise SystemExit(2) from exc


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn openwerk_server.main:app`` works too, and importing this module still does
    # nothing: the app is built on first access (PEP 562) and kept.
    if name == "app":
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
